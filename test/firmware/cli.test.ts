import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

// The compiled CLI, as `npx dialtone` runs it: build first (`npm run build`).
const CLI = path.join(__dirname, '..', '..', 'dist', 'daemon', 'cli', 'main.js');

function run(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 30000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('dialtone firmware add and list, through the compiled CLI', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-cli-fw-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = { DIALTONE_DATA_DIR: path.join(dir, 'data'), DIALTONE_FIRMWARE_MAX_MB: '1' };
  const rom = path.join(dir, 'T46S-66.86.0.15.rom');
  fs.writeFileSync(rom, 'ROM');

  const added = run(['firmware', 'add', rom, '--model', 't46s'], env);
  t.equal(added.status, 0, added.stderr);
  const image = JSON.parse(added.stdout);
  t.match(image, { model: 'T46S', version: '66.86.0.15', fileName: 'T46S-66.86.0.15.rom', size: 3 });
  t.ok(fs.existsSync(path.join(dir, 'data', 'firmware-images', image.sha256)), 'stored in the data dir under its hash');

  const again = run(['firmware', 'add', rom, '--model', 'T46S'], env);
  t.equal(again.status, 1, 'a duplicate is refused');
  t.match(again.stderr, /^dialtone: --version: T46S already has an image of version 66\.86\.0\.15/, 'naming the flag');

  const gs = path.join(dir, 'gxp2170fw.bin');
  fs.writeFileSync(gs, 'GS');
  const noVersion = run(['firmware', 'add', gs, '--model', 'GXP2170'], env);
  t.equal(noVersion.status, 1);
  t.match(noVersion.stderr, /^dialtone: --version: the file name carries no version/);
  t.equal(run(['firmware', 'add', gs, '--model', 'GXP2170', '--version', '1.0.11.3'], env).status, 0);

  const wrongModel = run(['firmware', 'add', rom, '--model', 'T48S', '--version', '66.86.0.16'], env);
  t.equal(wrongModel.status, 1);
  t.match(wrongModel.stderr, /^dialtone: --model: the file name names T46S, not T48S/);
  const unknown = run(['firmware', 'add', rom, '--model', 'Nokia3310'], env);
  t.match(unknown.stderr, /^dialtone: --model: is not a model dialtone provisions/);

  const empty = path.join(dir, 'T46S-66.86.0.99.rom');
  fs.writeFileSync(empty, '');
  const e = run(['firmware', 'add', empty, '--model', 'T46S'], env);
  t.equal(e.status, 1);
  t.match(e.stderr, /^dialtone: FILE: is empty/);
  const big = path.join(dir, 'T46S-66.86.0.98.rom');
  fs.writeFileSync(big, Buffer.alloc(1024 * 1024 + 1));
  const b = run(['firmware', 'add', big, '--model', 'T46S'], env);
  t.equal(b.status, 1);
  t.match(b.stderr, /^dialtone: FILE: must be at most 1048576 bytes/);
  t.same(fs.readdirSync(path.join(dir, 'data', 'firmware-images')).length, 2, 'refused files leave nothing behind');

  const missing = run(['firmware', 'add', path.join(dir, 'nope.rom'), '--model', 'T46S'], env);
  t.equal(missing.status, 66);
  t.match(missing.stderr, /cannot read .*nope\.rom: no such file/);
  const folder = run(['firmware', 'add', dir, '--model', 'T46S'], env);
  t.equal(folder.status, 66);
  t.match(folder.stderr, /is a folder, not a file/);
  const usage = run(['firmware', 'add', rom], env);
  t.equal(usage.status, 64);
  t.match(usage.stderr, /firmware add needs --model/);

  const list = run(['firmware', 'list'], env);
  t.equal(list.status, 0);
  t.same(JSON.parse(list.stdout).map((i: { model: string; version: string }) => `${i.model} ${i.version}`), ['GXP2170 1.0.11.3', 'T46S 66.86.0.15']);
  t.same(JSON.parse(run(['firmware', 'list', '--model', 'T46S'], env).stdout).length, 1);
});
