import fs from 'node:fs';

/** A file named on the command line that cannot be read: the person's mistake, told in one line (exit 66). */
export class InputFileError extends Error {}

const REASONS: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'is a folder, not a file' };

export function readInputFile(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    throw new InputFileError(`cannot read ${file}: ${REASONS[code] ?? code}`);
  }
}
