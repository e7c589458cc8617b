import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/options';
import { ImageStore } from '../firmware/image-store';
import { type ImageView, addImage } from '../firmware/service';
import type { Database } from '../storage/database';
import { unreadable } from './input-file';

/** `dialtone firmware add`: the same checks and store as the API's upload, the file streamed from disk. */
export async function addImageFromFile(config: Config, db: Database, file: string, model: string, version: string | undefined): Promise<ImageView> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(file);
  } catch (err) {
    throw unreadable(file, err);
  }
  if (!stat.isFile()) throw unreadable(file, Object.assign(new Error(), { code: 'EISDIR' }));
  const stream = fs.createReadStream(file);
  try {
    return await addImage({ knex: db.knex, images: new ImageStore(config.firmwareImagesDir), maxBytes: config.firmwareMaxMb * 1024 * 1024 }, { fileName: path.basename(file), model, version }, stream);
  } finally {
    stream.destroy();
  }
}
