import { Worker } from 'node:worker_threads';

/** One prepared statement and the parameter lists to run it with. */
export interface StatementRun {
  sql: string;
  rows: unknown[][];
}

/** better-sqlite3, as far as the thread uses it (the package ships no types). */
interface Statement { run(...params: unknown[]): unknown }
interface Connection {
  pragma(s: string): unknown;
  prepare(sql: string): Statement;
  transaction(fn: () => void): () => void;
  close(): void;
}

/**
 * The body of the writer thread. It is started from its own source text
 * (`eval`), not a module file, so that it needs no TypeScript loader and
 * starts in milliseconds: it must use nothing from outside but what it
 * requires itself and what workerData hands it.
 */
/** The writer thread's nice value: below the event loop's (0), not so low that a busy machine starves it. */
export const WRITER_NICE = 10;

function writerThread(): void {
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  // Writing the timeline can wait; answering phones cannot. On Linux a nice value is a thread's own, so this
  // thread yields the core to the event loop whenever both want it (a boot storm's first fetches, on one core).
  try {
    (require('node:os') as typeof import('node:os')).setPriority(workerData.nice as number);
  } catch {
    // Where a thread cannot lower its own priority it writes at the process's.
  }
  const Driver = require(workerData.driver as string) as new (filename: string) => Connection;
  const db = new Driver(workerData.filename as string);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  const prepared = new Map<string, Statement>();
  const statement = (sql: string) => {
    let s = prepared.get(sql);
    if (!s) {
      s = db.prepare(sql);
      prepared.set(sql, s);
    }
    return s;
  };
  parentPort!.on('message', (m: { id: number; runs: StatementRun[] } | 'close') => {
    if (m === 'close') {
      db.close();
      parentPort!.close();
      return;
    }
    try {
      // One transaction per write: all of it is stored, or none.
      db.transaction(() => {
        for (const run of m.runs) {
          const s = statement(run.sql);
          for (const params of run.rows) s.run(...params);
        }
      })();
      parentPort!.postMessage({ id: m.id });
    } catch (err) {
      parentPort!.postMessage({ id: m.id, error: (err as Error).message });
    }
  });
}

/**
 * Writes batches to a SQLite file from a thread of its own, on its own
 * connection. better-sqlite3 is synchronous: a batch of 10,000 timeline
 * entries written on the daemon's connection held the event loop for about
 * 120 ms, and every commit waited there for the disk, which gave every HTTP
 * request of that moment the wait (bench/README.md, HTTP tail). Here the
 * statements and the commits run beside the event loop, and WAL lets the
 * daemon's connection read meanwhile.
 */
export class SqliteWriter {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  /** Settles once every write handed over so far has. */
  private settled: Promise<unknown> = Promise.resolve();

  constructor(private readonly filename: string) {}

  /** Runs the statements, in order, in one transaction of the thread's connection; resolves once it is committed, rejects (storing nothing) if one fails. */
  write(runs: StatementRun[]): Promise<void> {
    const worker = this.start();
    const id = this.nextId++;
    // A write in flight keeps the process alive until it is committed; an idle writer does not.
    if (this.pending.size === 0) worker.ref();
    const written = new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, runs });
    });
    // Settled to nothing: the results of every earlier write would otherwise nest one inside the next for as long as the process runs.
    this.settled = Promise.allSettled([this.settled, written]).then(() => undefined);
    return written;
  }

  /** Lets the writes in flight finish, then closes the thread's connection. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    await this.settled;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage('close');
    await exited;
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(`(${writerThread.toString()})()`, {
      eval: true,
      // Not the daemon's flags (under tests, a TypeScript loader that would take seconds to start): the thread is plain JavaScript.
      execArgv: [],
      workerData: { filename: this.filename, driver: require.resolve('better-sqlite3'), nice: WRITER_NICE },
    });
    worker.unref();
    worker.on('message', (m: { id: number; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) worker.unref();
      if (m.error === undefined) p.resolve();
      else p.reject(new Error(m.error));
    });
    // A thread that died fails the writes it held; the next write starts another.
    const fail = (err: Error) => {
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      if (this.worker === worker) this.worker = null;
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the SQLite writer thread exited (code ${code}) with writes in flight`)));
    this.worker = worker;
    return worker;
  }
}
