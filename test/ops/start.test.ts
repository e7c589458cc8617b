import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

const root = path.join(__dirname, '..', '..');
// semver comes with npm's own tree here; it is what npm checks engines with.
const semver = require(path.join(root, 'node_modules', 'semver')) as { satisfies(v: string, r: string): boolean; minVersion(r: string): { version: string } };

t.test('every supported Node version meets every installed package\'s engines (no EBADENGINE on npm ci)', async (t) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
  const range: string = pkg.engines.node;
  const lowest = range.split('||').map((r) => semver.minVersion(r.trim()).version);
  t.ok(semver.satisfies(process.versions.node, range), `the Node these tests run on (${process.versions.node}) is in ${range}`);
  t.equal(lock.packages[''].engines.node, range, 'the lock file states the same range');
  for (const version of [...lowest, process.versions.node]) {
    const refused = Object.entries(lock.packages as Record<string, { engines?: { node?: string } }>)
      .filter(([, p]) => p.engines?.node && !semver.satisfies(version, p.engines.node))
      .map(([name, p]) => `${name} wants ${p.engines!.node}`);
    t.same(refused, [], `Node ${version}`);
  }
});

t.test('npm start compiles only when a source is newer than dist/', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-start-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'scripts'));
  fs.copyFileSync(path.join(root, 'scripts', 'build-if-stale.js'), path.join(dir, 'scripts', 'build-if-stale.js'));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  fs.mkdirSync(path.join(dir, 'daemon', 'cli'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'daemon', 'cli', 'main.ts'), 'export const answer: number = 42;\n');
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { outDir: 'dist', rootDir: '.', module: 'commonjs', target: 'es2022' } }));
  fs.writeFileSync(path.join(dir, 'tsconfig.build.json'), JSON.stringify({ extends: './tsconfig.json', include: ['daemon/**/*.ts'] }));
  const run = () => spawnSync(process.execPath, [path.join(dir, 'scripts', 'build-if-stale.js')], { encoding: 'utf8', timeout: 120_000 });

  const first = run();
  t.equal(first.status, 0, first.stderr);
  t.match(first.stderr, /^dialtone: compiling/, 'no dist/: compiles');
  t.ok(fs.existsSync(path.join(dir, 'dist', 'daemon', 'cli', 'main.js')));
  const again = run();
  t.same([again.status, again.stderr], [0, ''], 'dist/ newer than every source: nothing to do');
  const later = new Date(Date.now() + 5000);
  fs.writeFileSync(path.join(dir, 'daemon', 'cli', 'main.ts'), 'export const answer: number = 43;\n');
  fs.utimesSync(path.join(dir, 'daemon', 'cli', 'main.ts'), later, later);
  const changed = run();
  t.match(changed.stderr, /sources changed since the last build/);
  t.match(fs.readFileSync(path.join(dir, 'dist', 'daemon', 'cli', 'main.js'), 'utf8'), /43/);
  fs.writeFileSync(path.join(dir, 'daemon', 'cli', 'main.ts'), 'export const answer: number = "no";\n');
  fs.utimesSync(path.join(dir, 'daemon', 'cli', 'main.ts'), new Date(Date.now() + 10_000), new Date(Date.now() + 10_000));
  t.not(run().status, 0, 'a compile error stops the start');
});
