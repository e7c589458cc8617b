import { type ChildProcess, fork } from 'node:child_process';
import type dgram from 'node:dgram';
import { workerExecArgv } from '../../cli/node-flags';
import type { Logger } from '../../core/log';
import type { BindingEvent } from '../registrar/registrar';
import type { FromWorker, ToWorker } from './messages';

/** Where what the workers hand over goes, in the daemon. */
export interface WorkerHost {
  datagram(datagram: Buffer, address: string, port: number): void;
  event(event: BindingEvent): void;
}

const READY_TIMEOUT_MS = 20_000;
const RESTART_DELAY_MS = 1_000;
const STOP_TIMEOUT_MS = 5_000;

/**
 * The daemon's side of its registrar workers: starts them with the UDP
 * socket to share, relays what they hand over, starts another when one dies,
 * and stops them before the socket closes.
 */
export class RegistrarWorkers {
  private readonly children = new Set<ChildProcess>();
  private stopping = false;
  /** The Retry-After of a drain under way, for a worker started after it began too. */
  private draining: number | null = null;
  /** What the workers handed over since the start: with none, they are not sharing the load. */
  readonly relayed = { datagrams: 0, events: 0 };

  constructor(
    private readonly count: number,
    private readonly start: Extract<ToWorker, { type: 'start' }>,
    private readonly host: WorkerHost,
    private readonly log: Logger,
    /** Resolved beside this file, so tests running the TypeScript sources fork the TypeScript worker. */
    private readonly script = require.resolve('./registrar-worker'),
  ) {}

  async run(udp: dgram.Socket): Promise<void> {
    await Promise.all(Array.from({ length: this.count }, () => this.spawn(udp)));
  }

  pids(): number[] {
    return [...this.children].map((c) => c.pid ?? 0);
  }

  private spawn(udp: dgram.Socket): Promise<void> {
    return new Promise((resolve, reject) => {
      // Node's own flags (a heap limit, and under tests the TypeScript loader) apply to the workers too.
      const child = fork(this.script, [], { serialization: 'advanced', execArgv: workerExecArgv(process.execArgv) });
      this.children.add(child);
      const timer = setTimeout(() => {
        reject(new Error('a SIP registrar worker did not start in time'));
        child.kill('SIGKILL');
      }, READY_TIMEOUT_MS);
      child.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'ready':
            clearTimeout(timer);
            this.log.debug({ worker: child.pid }, 'SIP registrar worker ready');
            if (this.draining !== null) child.send({ type: 'drain', retryAfterSeconds: this.draining } satisfies ToWorker);
            resolve();
            return;
          case 'datagram':
            this.relayed.datagrams++;
            this.host.datagram(Buffer.from(m.datagram), m.address, m.port);
            return;
          case 'event':
            this.relayed.events++;
            this.host.event(m.event);
            return;
          case 'draining':
            child.emit('draining');
            return;
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        this.children.delete(child);
        reject(new Error(`a SIP registrar worker exited while starting (code ${code}, signal ${signal})`));
        if (this.stopping) return;
        this.log.warn({ worker: child.pid, code, signal }, 'SIP registrar worker exited; starting another');
        setTimeout(() => {
          if (!this.stopping) this.spawn(udp).catch((err: unknown) => this.log.error({ err }, 'SIP registrar worker could not be restarted'));
        }, RESTART_DELAY_MS).unref();
      });
      child.send(this.start, udp);
    });
  }

  /** New work goes elsewhere: resolves once every worker answers it 503 with this Retry-After (or is gone). */
  async drain(retryAfterSeconds: number): Promise<void> {
    this.draining = retryAfterSeconds;
    const message: ToWorker = { type: 'drain', retryAfterSeconds };
    await Promise.all([...this.children].filter((child) => child.connected).map((child) => new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        child.off('exit', done);
        child.off('draining', done);
        resolve();
      };
      const timer = setTimeout(done, STOP_TIMEOUT_MS);
      child.once('draining', done);
      child.once('exit', done);
      child.send(message);
    })));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.children].map((child) => new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    })));
  }
}
