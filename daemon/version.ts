import fs from 'node:fs';
import path from 'node:path';

function read(): string {
  // Compiled code runs one level deeper (dist/daemon) than the sources (daemon/).
  for (const dir of [path.join(__dirname, '..'), path.join(__dirname, '..', '..')]) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return '0.0.0';
}

export const version = read();
