import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { DomainError, ValidationError } from '../core/errors';

/** An upload larger than the limit: answered 413 while it is still coming in. */
export class TooLargeError extends DomainError {
  constructor(readonly limit: number) {
    super('validation', `file: larger than ${limit} bytes (DIALTONE_FIRMWARE_MAX_MB)`, [{ field: 'file', reason: `must be at most ${limit} bytes (DIALTONE_FIRMWARE_MAX_MB)` }]);
  }
}

export interface StoredImage {
  sha256: string;
  size: number;
}

/**
 * Images on disk, each under the SHA-256 of its content: the same image
 * uploaded twice is one file, and no name an operator or phone chose ever
 * becomes a path.
 */
export class ImageStore {
  constructor(readonly dir: string) {}

  pathOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error('not a SHA-256');
    return path.join(this.dir, sha256);
  }

  /**
   * Streams an upload to a temporary file while hashing it, and moves it into
   * place once whole. Past `limit` bytes the stream is abandoned and nothing
   * is kept; an empty upload is refused the same way.
   */
  async save(input: Readable, limit: number): Promise<StoredImage> {
    await fs.promises.mkdir(this.dir, { recursive: true });
    const temp = path.join(this.dir, `.upload-${crypto.randomUUID()}`);
    const hash = crypto.createHash('sha256');
    const out = fs.createWriteStream(temp, { flags: 'wx' });
    let size = 0;
    try {
      // By events rather than `for await`: leaving that loop destroys the request, and with it the socket the 413 must go out on.
      await new Promise<void>((resolve, reject) => {
        const stop = (err?: Error) => {
          input.off('data', onData).off('end', onEnd).off('error', stop).off('close', onClose);
          out.off('error', stop);
          if (err) {
            input.pause();
            reject(err);
          } else out.end(() => resolve());
        };
        const onData = (buf: Buffer) => {
          size += buf.length;
          if (size > limit) return stop(new TooLargeError(limit));
          hash.update(buf);
          if (!out.write(buf)) {
            input.pause();
            out.once('drain', () => input.resume());
          }
        };
        const onEnd = () => stop();
        const onClose = () => stop(new Error('the upload was broken off'));
        input.on('data', onData).once('end', onEnd).once('error', stop).once('close', onClose);
        out.once('error', stop);
      });
      if (size === 0) throw new ValidationError([{ field: 'file', reason: 'is empty' }]);
      const sha256 = hash.digest('hex');
      await fs.promises.rename(temp, this.pathOf(sha256));
      return { sha256, size };
    } catch (err) {
      out.destroy();
      await fs.promises.rm(temp, { force: true });
      throw err;
    }
  }

  /** Removes a stored file that no image row names any more. */
  async drop(sha256: string): Promise<void> {
    await fs.promises.rm(this.pathOf(sha256), { force: true });
  }
}
