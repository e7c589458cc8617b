import fs from 'node:fs';

/** A file named on the command line that cannot be read: the person's mistake, told in one line (exit 66). */
export class InputFileError extends Error {}

const REASONS: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'is a folder, not a file' };

/** The error for a file that failed to open, read or stat, in the person's words. */
export function unreadable(file: string, err: unknown): InputFileError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return new InputFileError(`cannot read ${file}: ${REASONS[code] ?? code}`);
}

export function readInputFile(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw unreadable(file, err);
  }
}
