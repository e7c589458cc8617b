import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

// The compiled CLI, as `npx dialtone` runs it: `npm test` builds first.
const CLI = path.join(__dirname, '..', '..', 'dist', 'daemon', 'cli', 'main.js');

function dataDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-cli-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function run(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 30000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

t.test('tenant create prints the tenant, its administrator and a token', async (t) => {
  const env = { DIALTONE_DATA_DIR: dataDir(t) };
  const r = run(['tenant', 'create', '--name', 'Acme', '--domain', 'acme.sip.test', '--admin-first', 'Ada', '--admin-last', 'Lovelace', '--admin-email', 'ada@acme.test'], env);
  t.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  t.match(out, { tenant: { id: String, name: 'Acme', sipDomain: 'acme.sip.test' }, admin: { username: 'ada@acme.test', isAdmin: true }, token: /^dt_/ });
  const again = run(['tenant', 'create', '--name', 'Other', '--domain', 'acme.sip.test', '--admin-first', 'B', '--admin-last', 'C', '--admin-email', 'b@c.test'], env);
  t.equal(again.status, 1);
  t.match(again.stderr, /^dialtone: --domain: is already used by another tenant\n/);
  const op = run(['token', 'create', '--operator'], env);
  t.match(JSON.parse(op.stdout), { scope: 'operator', token: /^dt_/ });
});

t.test('a change made with the CLI while Redis is unreachable is made, and the warning says the daemons were not told', async (t) => {
  const env = { DIALTONE_DATA_DIR: dataDir(t), DIALTONE_REDIS_URL: `redis://127.0.0.1:${await freePort()}/0` };
  const r = run(['tenant', 'create', '--name', 'Acme', '--domain', 'acme.sip.test', '--admin-first', 'Ada', '--admin-last', 'Lovelace', '--admin-email', 'ada@acme.test'], env);
  t.equal(r.status, 0, r.stderr);
  t.match(JSON.parse(r.stdout), { tenant: { sipDomain: 'acme.sip.test' } });
  t.match(r.stderr, /^dialtone: warning: the running daemons were not told of these changes \(Redis: .+\); restart them to see them\n$/);
});

t.test('bad input to the CLI says what is wrong in one line', async (t) => {
  const env = { DIALTONE_DATA_DIR: dataDir(t) };
  const missing = run(['tenant', 'create', '--name', 'Acme'], env);
  t.equal(missing.status, 64);
  t.match(missing.stderr, /^dialtone: tenant create needs --domain, --admin-first, --admin-last, --admin-email\n/);
  const wrong = run(['tenant', 'create', '--name', 'Acme', '--domain', 'not a domain', '--admin-first', 'A', '--admin-last', 'B', '--admin-email', 'nope'], env);
  t.equal(wrong.status, 1);
  t.match(wrong.stderr, /^dialtone: --domain: .*; --admin-email: /, 'fields are named by the flags that set them');
  t.notMatch(wrong.stderr, /sipDomain|admin\.email/);
  const unknown = run(['frobnicate'], env);
  t.equal(unknown.status, 64);
  t.match(unknown.stderr, /unknown command: frobnicate/);
  const flag = run(['token', 'create', '--operator', '--bogus'], env);
  t.equal(flag.status, 64);
  t.match(flag.stderr, /^dialtone: Unknown option '--bogus'\n/);
  const both = run(['token', 'create'], env);
  t.match(both.stderr, /exactly one of --operator or --tenant/);
  const stray = run(['tenant', 'list', 'extra'], env);
  t.equal(stray.status, 64);
  const config = run(['serve'], { ...env, DIALTONE_HTTP_PORT: 'eighty' });
  t.equal(config.status, 2);
  t.equal(config.stderr.trim().split('\n').length, 1, 'one line');
  t.match(config.stderr, /^dialtone: DIALTONE_HTTP_PORT: must be a port number/);
});

t.test('help and version, for the whole CLI and every command, exit 0 and do nothing else', async (t) => {
  const env = { DIALTONE_DATA_DIR: dataDir(t) };
  for (const args of [['--help'], ['-h'], ['help']]) {
    const r = run(args, env);
    t.equal(r.status, 0, args.join(' '));
    t.match(r.stdout, /^usage: dialtone <command>/);
    t.match(r.stdout, /Exit status: 0 done; 1 refused/);
  }
  const commands = ['serve', 'migrate', 'tenant create', 'tenant list', 'site list', 'users import', 'adopt', 'token create'];
  for (const c of commands) {
    const r = run([...c.split(' '), '--help'], env);
    t.equal(r.status, 0, `${c} --help`);
    t.match(r.stdout, new RegExp(`^usage: dialtone ${c}`), `${c} --help prints its usage`);
  }
  t.match(run(['users', 'import', '-h'], env), { status: 0, stdout: /^usage: dialtone users import FILE.csv --tenant ID/ });
  t.match(run(['help', 'site', 'list'], env), { status: 0, stdout: /^usage: dialtone site list --tenant ID/ });
  t.notOk(fs.existsSync(path.join(env.DIALTONE_DATA_DIR, 'dialtone.sqlite')), 'serve --help started nothing, not even the database');
  t.match(run(['tenant', '--help'], env), { status: 0, stdout: /dialtone tenant create[^]*dialtone tenant list/ });
  t.match(run(['--version'], env), { status: 0, stdout: /^dialtone \d+\.\d+\.\d+\n$/ });
  t.equal(run([], env).status, 64, 'no command is a usage error');
});

t.test('tenant list and site list give the ids other commands need', async (t) => {
  const env = { DIALTONE_DATA_DIR: dataDir(t) };
  t.same(JSON.parse(run(['tenant', 'list'], env).stdout), []);
  const created = JSON.parse(run(['tenant', 'create', '--name', 'Acme', '--domain', 'acme.sip.test', '--admin-first', 'Ada', '--admin-last', 'Lovelace', '--admin-email', 'ada@acme.test'], env).stdout);
  t.same(JSON.parse(run(['tenant', 'list'], env).stdout), [{ id: created.tenant.id, name: 'Acme', sipDomain: 'acme.sip.test' }]);
  t.same(JSON.parse(run(['site', 'list', '--tenant', created.tenant.id], env).stdout), []);
  t.match(run(['site', 'list', '--tenant', 'no-such-tenant'], env), { status: 1, stderr: /^dialtone: tenant not found\n$/ });
});

t.test('users import names the file, line and column of every problem; a missing file is one line', async (t) => {
  const dir = dataDir(t);
  const env = { DIALTONE_DATA_DIR: dir };
  const tenant = JSON.parse(run(['tenant', 'create', '--name', 'Acme', '--domain', 'acme.sip.test', '--admin-first', 'Ada', '--admin-last', 'Lovelace', '--admin-email', 'ada@acme.test'], env).stdout).tenant.id;
  const csv = path.join(dir, 'users.csv');
  fs.writeFileSync(csv, 'First Name,Last Name,Email\nGrace,Hopper,grace@acme.test\nAlan,,not-an-email\n');
  const bad = run(['users', 'import', csv, '--tenant', tenant], env);
  t.equal(bad.status, 1);
  t.equal(bad.stderr, `dialtone: ${csv} has 2 problems; nothing was created\n${csv}:3: Last Name: is required\n${csv}:3: Email: must be an email address such as name@example.com\n`);
  const missing = run(['users', 'import', path.join(dir, 'nope.csv'), '--tenant', tenant], env);
  t.equal(missing.status, 66);
  t.equal(missing.stderr, `dialtone: cannot read ${path.join(dir, 'nope.csv')}: no such file\n`, 'no stack trace');
  t.equal(run(['users', 'import', dir, '--tenant', tenant], env).status, 66, 'a folder');
  fs.writeFileSync(csv, 'First Name,Last Name,Email\nGrace,Hopper,grace@acme.test\n');
  t.match(JSON.parse(run(['users', 'import', csv, '--tenant', tenant], env).stdout), { created: 1 });
});

t.test('serve starts on embedded defaults, answers, and stops cleanly on SIGTERM', async (t) => {
  const dir = dataDir(t);
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: { PATH: process.env.PATH, DIALTONE_DATA_DIR: dir, DIALTONE_HTTP_HOST: '127.0.0.1', DIALTONE_HTTP_PORT: String(port), DIALTONE_TFTP_PORT: String(await freePort()), DIALTONE_SIP_PORT: String(await freePort()), DIALTONE_SIP_WS_PORT: String(await freePort()) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (b: Buffer) => (log += b.toString()));
  child.stderr.on('data', (b: Buffer) => (log += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      // SIP starts last: from then on every dependency /readyz reports is up.
      if (log.includes('SIP listening')) {
        clearInterval(timer);
        resolve();
      }
    }, 50);
    exited.then(() => reject(new Error(`daemon exited early:\n${log}`)));
  });
  const lines = log.trim().split('\n').map((l) => JSON.parse(l));
  t.ok(lines.some((l) => l.msg === 'HTTP listening (admin API, provisioning, /api/docs)'), 'logs what it listens on, as JSON');
  t.ok(lines.some((l) => /secret\.key/.test(l.file ?? '') && l.level === 40), 'warns that it generated a secret key');
  t.ok(fs.existsSync(path.join(dir, 'dialtone.sqlite')), 'the SQLite database is in the data dir');
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  t.same(await res.json(), { status: 'ready', database: 'up', sip: 'up' });
  child.kill('SIGTERM');
  t.equal(await exited, 0);
});
