#!/usr/bin/env node
// `npm start` compiles only when a source is newer than the compiled tree: a restart, or a wrong option
// reported at start, should not wait on the TypeScript compiler. Plain JavaScript: it runs before any build.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const SOURCES = ['daemon', 'sql', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];

/** The newest modification time under `p` (a file or a folder), 0 when it does not exist. */
function newest(p) {
  let stat;
  try {
    stat = fs.statSync(p);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let max = 0;
  for (const name of fs.readdirSync(p)) max = Math.max(max, newest(path.join(p, name)));
  return max;
}

const built = newest(path.join(root, 'dist', 'daemon', 'cli', 'main.js')) && newest(path.join(root, 'dist'));
const source = Math.max(...SOURCES.map((s) => newest(path.join(root, s))));
if (built >= source) process.exit(0);
process.stderr.write(built ? 'dialtone: sources changed since the last build; compiling\n' : 'dialtone: compiling\n');
const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
process.exit(tsc.status ?? 1);
