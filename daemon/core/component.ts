import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/options';
import type { Database } from '../storage/database';
import type { SecretBox } from '../crypto/secret-box';
import type { ChangeFeed } from './changes';
import type { Logger } from './log';
import type { Health } from '../ops/health';
import type { Metrics } from '../ops/metrics';
import type { Leases } from '../ops/leases';

/** What every part of the daemon is given: one of each, built once by daemon/app.ts. */
export interface Runtime {
  config: Config;
  log: Logger;
  db: Database;
  secrets: SecretBox;
  changes: ChangeFeed;
  /** What GET /metrics exports; components add their counters here. */
  metrics: Metrics;
  /** The dependencies /readyz reports; components add a check for what they rely on. */
  health: Health;
  /** Runs jobs that must happen once for all processes sharing the database (through Redis when there are several). */
  leases: Leases;
}

/**
 * A part of the daemon (admin API, provisioning, SIP, PBX sync). The core
 * stays small: it builds the runtime, lets each component add HTTP routes
 * before the server listens, then starts them in order and stops them in reverse.
 */
export interface Component {
  name: string;
  http?(app: FastifyInstance): Promise<void> | void;
  start?(): Promise<void>;
  /**
   * SIGTERM: take no new work, and resolve once what is under way has
   * finished (the daemon waits at most DIALTONE_DRAIN_SECONDS); stop() follows.
   */
  drain?(): Promise<void>;
  stop?(): Promise<void>;
  /**
   * SIGHUP: take on what can change while running (templates, certificates,
   * limits). `config` already holds the new values of the live options.
   */
  reload?(): Promise<void> | void;
}

/** Builds one component, or several that share something only they need (the SIP service and what uses it). */
export type ComponentFactory = (rt: Runtime) => Component | Component[];
