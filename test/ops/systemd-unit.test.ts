import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadConfig } from '../../daemon/config/load';

const ROOT = path.join(__dirname, '..', '..');
const UNIT = path.join(ROOT, 'systemd', 'dialtone.service');

/** systemd's own score of the unit's sandbox: 0 is locked down, 10 is fully exposed. */
function exposure(unitFile: string): number {
  const r = spawnSync('systemd-analyze', ['security', '--offline=true', unitFile], { encoding: 'utf8' });
  if (r.error) throw new Error(`systemd-analyze is needed (Debian package systemd): ${r.error.message}`);
  const m = /Overall exposure level for [^:]+: (\d+(?:\.\d+)?)/.exec(r.stdout);
  if (!m) throw new Error(`no exposure level in: ${r.stdout}${r.stderr}`);
  return Number(m[1]);
}

function directives(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

t.test('the unit is hardened to an exposure of 2.0 or less', async (t) => {
  const level = exposure(UNIT);
  t.ok(level <= 2.0, `exposure ${level}`);
});

t.test('the unit speaks the notify protocol and keeps only the capability to bind low ports', async (t) => {
  const d = directives(fs.readFileSync(UNIT, 'utf8'));
  t.same(d.get('Type'), ['notify-reload']);
  t.same(d.get('NotifyAccess'), ['main'], 'only dialtone itself may report its state');
  t.ok(d.get('WatchdogSec'));
  t.same(d.get('CapabilityBoundingSet'), ['CAP_NET_BIND_SERVICE']);
  t.same(d.get('AmbientCapabilities'), ['CAP_NET_BIND_SERVICE']);
  t.same(d.get('MemoryDenyWriteExecute'), ['no'], 'V8 needs writable executable memory');
  t.same(d.get('ProtectSystem'), ['strict']);
  t.same(d.get('StateDirectory'), ['dialtone']);
  t.ok(d.get('SystemCallFilter')?.includes('@system-service'));
  const stopSeconds = Number(/^(\d+)s$/.exec(d.get('TimeoutStopSec')![0]!)![1]);
  t.ok(stopSeconds > loadConfig({}).drainSeconds, 'systemd waits longer than the default drain');
  t.match(d.get('ExecStart')![0], / \/opt\/dialtone\/dist\/daemon\/cli\/main\.js serve$/);
});

t.test('the installer gives a systemd without notify-reload the same protocol with ExecReload', async (t) => {
  const r = spawnSync('bash', [path.join(ROOT, 'scripts', 'install-systemd.sh'), '--print-unit'], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const version = Number(/systemd (\d+)/.exec(spawnSync('systemctl', ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[1] ?? 0);
  const d = directives(r.stdout);
  if (version && version < 253) {
    t.same(d.get('Type'), ['notify']);
    t.same(d.get('ExecReload'), ['/bin/kill -HUP $MAINPID']);
  } else {
    t.same(d.get('Type'), ['notify-reload']);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-unit-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'dialtone.service'), r.stdout);
  t.ok(exposure(path.join(dir, 'dialtone.service')) <= 2.0);
});
