import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { NODE_FLAGS, workerExecArgv } from '../../daemon/cli/node-flags';

const ROOT = path.join(__dirname, '..', '..');

t.test('npm start, the systemd unit and the benchmarks start the daemon with the same Node flags', async (t) => {
  const start = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.start as string;
  t.equal(start, ['node', ...NODE_FLAGS, 'dist/daemon/cli/main.js', 'serve'].join(' '));
  const unit = fs.readFileSync(path.join(ROOT, 'systemd', 'dialtone.service'), 'utf8');
  t.match(unit, `\nExecStart=${['/usr/bin/node', ...NODE_FLAGS, '/opt/dialtone/dist/daemon/cli/main.js', 'serve'].join(' ')}\n`);
  t.match(fs.readFileSync(path.join(ROOT, 'bench', 'daemon.ts'), 'utf8'), '...NODE_FLAGS', 'the bench starts it with them');
});

t.test('this Node accepts the flags and sizes its young generation by them', async (t) => {
  // Short-lived objects, some surviving a while, as under a request load: without the flags new space grows to about 32 MB.
  const load = `let keep = []; const t0 = Date.now();
    while (Date.now() - t0 < 500) { const a = []; for (let i = 0; i < 1000; i++) a.push({ i, s: 'v' + i }); keep.push(a); if (keep.length > 50) keep = []; }
    console.log(require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size)`;
  const r = spawnSync(process.execPath, [...NODE_FLAGS, '-e', load], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const semi = Number(/--max-semi-space-size=(\d+)/.exec(NODE_FLAGS.join(' '))![1]);
  t.ok(Number(r.stdout) <= 2 * semi * 1024 * 1024, `new space ${r.stdout.trim()} bytes stays within two ${semi} MB semi-spaces`);
});

t.test('registrar workers keep the daemon\'s other Node flags but not its heap tuning', async (t) => {
  t.same(workerExecArgv(['--max-old-space-size=512', ...NODE_FLAGS, '--import=loader.mjs']), ['--max-old-space-size=512', '--import=loader.mjs']);
  t.same(workerExecArgv([]), []);
});
