import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { freePort } from './sip';
import { startStandin } from './drachtio-standin';

/** The drachtio-server binary the real-server runs use (`npm run test:drachtio`); unset, they skip. */
export const DRACHTIO_BIN = process.env.DRACHTIO_BIN ?? '';
export const SKIP_REAL = DRACHTIO_BIN ? false : 'DRACHTIO_BIN is unset (npm run test:drachtio with DRACHTIO_BIN=/path/to/drachtio)';
export const DRACHTIO_SECRET = 'cymru-test';

export interface DrachtioServer {
  adminPort: number;
  /** One port for SIP over UDP and TCP. */
  sipPort: number;
  /** Stops it with a signal and waits for it to end. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same ports and configuration. */
  restart(): Promise<void>;
}

/** A real drachtio-server from DRACHTIO_BIN, configured for loopback only, stopped at the test's end. */
export async function startDrachtioServer(t: Test): Promise<DrachtioServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-drachtio-'));
  const [adminPort, sipPort, wsPort] = [await freePort(), await freePort(), await freePort()];
  const conf = path.join(dir, 'drachtio.conf.xml');
  fs.writeFileSync(conf, `<drachtio>
  <admin port="${adminPort}" secret="${DRACHTIO_SECRET}">127.0.0.1</admin>
  <sip><contacts><contact>sip:127.0.0.1:${sipPort};transport=udp,tcp</contact><contact>sip:127.0.0.1:${wsPort};transport=ws</contact></contacts></sip>
  <logging><file><name>${path.join(dir, 'drachtio.log')}</name></file><loglevel>info</loglevel><sofia-loglevel>3</sofia-loglevel></logging>
</drachtio>
`);
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  const launch = async () => {
    child = spawn(DRACHTIO_BIN, ['-f', conf], { stdio: 'ignore' });
    exited = new Promise<void>((r) => child!.once('close', () => r()));
    await waitForListener(adminPort);
  };
  const kill = async (signal: NodeJS.Signals) => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  await launch();
  t.teardown(async () => {
    await kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return { adminPort, sipPort, kill, restart: launch };
}

async function waitForListener(port: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) return;
    if (attempt > 100) throw new Error(`drachtio-server did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The SIP engines a suite runs on: the built-in one, and dialtone's drachtio adapter on the stand-in and on a real drachtio-server. */
export type EngineKind = 'builtin' | 'standin' | 'drachtio';

export const ENGINE_KINDS: { kind: EngineKind; name: string; skip: string | false }[] = [
  { kind: 'builtin', name: 'built-in engine', skip: false },
  { kind: 'standin', name: 'drachtio adapter on the wire-protocol stand-in', skip: false },
  { kind: 'drachtio', name: 'drachtio adapter on drachtio-server', skip: SKIP_REAL },
];

/** The daemon settings that put it on that engine, starting the stand-in or drachtio-server for the test. */
export async function engineEnv(t: Test, kind: EngineKind): Promise<Record<string, string>> {
  if (kind === 'builtin') return {};
  let adminPort: number;
  if (kind === 'standin') {
    const s = await startStandin(DRACHTIO_SECRET);
    t.teardown(() => s.close());
    adminPort = s.adminPort;
  } else {
    adminPort = (await startDrachtioServer(t)).adminPort;
  }
  return { DIALTONE_SIP_ENGINE: 'drachtio', DIALTONE_DRACHTIO_HOST: '127.0.0.1', DIALTONE_DRACHTIO_PORT: String(adminPort), DIALTONE_DRACHTIO_SECRET: DRACHTIO_SECRET };
}
