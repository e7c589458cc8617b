import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseKey } from './secret-box';

export interface KeySource {
  key: Buffer;
  /** Set when the key was generated now: the operator must back it up. */
  generatedAt: string | null;
}

/** The configured key, else the one kept in the data dir, else a new one written there (mode 0600). */
export function loadSecretKey(configured: string | null, dataDir: string): KeySource {
  if (configured) return { key: parseKey(configured), generatedAt: null };
  const file = path.join(dataDir, 'secret.key');
  if (fs.existsSync(file)) {
    const key = parseKey(fs.readFileSync(file, 'utf8'));
    if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte key`);
    return { key, generatedAt: null };
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const key = crypto.randomBytes(32);
  fs.writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  return { key, generatedAt: file };
}
