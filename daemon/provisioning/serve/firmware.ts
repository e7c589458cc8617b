import fs from 'node:fs';
import path from 'node:path';

export interface StaticFile {
  path: string;
  size: number;
  mtime: Date;
}

/**
 * A file under the firmware folder, or null. The name was already checked by
 * refuseName; the real path is checked again so a symbolic link inside the
 * folder cannot lead out of it.
 */
export async function findStatic(root: string, name: string): Promise<StaticFile | null> {
  const rel = name.replace(/^firmware\//i, '');
  const full = path.join(root, rel);
  try {
    const [realRoot, real] = await Promise.all([fs.promises.realpath(root), fs.promises.realpath(full)]);
    if (!real.startsWith(realRoot + path.sep)) return null;
    const st = await fs.promises.stat(real);
    return st.isFile() ? { path: real, size: st.size, mtime: st.mtime } : null;
  } catch {
    return null;
  }
}
