import knex, { type Knex } from 'knex';
import type { Change } from '../core/changes';
import type { Component, Runtime } from '../core/component';
import { mysqlConnection } from '../storage/database';
import { writeLine } from './asterisk/writer';
import { type DialtoneEdge, resolveEdge } from './edge';
import { freeswitchDirectory } from './freeswitch/routes';
import { affectedExtensionIds } from '../admin/service/extensions';
import { loadLine } from './snapshot';

const FULL_SYNC_LEASE_MS = 10 * 60_000;

/**
 * Keeps the PBX in step with the admin records: Asterisk realtime tables are
 * written on every committed change (and in full at start), FreeSWITCH asks
 * over HTTP. Either side is off unless configured. Both send an extension's
 * calls through dialtone at `sipAddress` (the SIP service's `host:port`),
 * read once it is known, when the SIP engine has bound its ports.
 */
export function pbxComponent(rt: Runtime, sipAddress: () => string): Component {
  let asterisk: Knex | null = null;
  let edgeLookup: Promise<DialtoneEdge> | null = null;
  const edge = (): Promise<DialtoneEdge> => {
    // A failed lookup is forgotten, so the next change or request tries again.
    edgeLookup ??= resolveEdge(sipAddress()).catch((err: unknown) => {
      edgeLookup = null;
      throw err;
    });
    return edgeLookup;
  };
  let unsubscribe: (() => void) | null = null;
  // One write at a time keeps the Asterisk transactions from racing on the same extension.
  let queue: Promise<void> = Promise.resolve();
  const log = rt.log.child({ component: 'pbx' });
  const errors = rt.metrics.counter('dialtone_pbx_sync_errors_total', 'Extensions that could not be written to the Asterisk realtime database (retried on the next change or restart).').cell();
  // When each batch of changes still being written was queued: the oldest is how far the PBX lags behind.
  const waiting: number[] = [];
  rt.metrics.gauge('dialtone_pbx_sync_lag_seconds', 'Age of the oldest change not yet written to the PBX; 0 when it is in step.', [], () =>
    [[[], waiting.length > 0 ? (Date.now() - waiting[0]!) / 1000 : 0]]);

  const syncExtension = async (id: string): Promise<void> => {
    if (!asterisk) return;
    try {
      const outcome = await writeLine(asterisk, rt.db.knex, rt.secrets, await loadLine(rt.db.knex, rt.secrets, id), await edge());
      if (outcome.adoptedPin) log.info({ extensionId: id }, 'voicemail PIN changed from the phone adopted');
    } catch (err) {
      errors.inc();
      log.error({ err, extensionId: id }, 'Asterisk sync failed; the next change or restart retries');
    }
  };
  const enqueue = (ids: string[]) => {
    waiting.push(Date.now());
    queue = queue.then(async () => {
      for (const id of ids) await syncExtension(id);
    }).finally(() => void waiting.shift());
    return queue;
  };
  const onChange = (change: Change) => {
    if (change.kind === 'device') return;
    void affectedExtensionIds(rt.db.knex, change.kind, change.id).then(enqueue, (err: unknown) => {
      errors.inc();
      log.error({ err }, 'cannot list extensions to sync');
    });
  };

  return {
    name: 'pbx-sync',
    async http(app) {
      if (rt.config.freeswitchAuth) await app.register(freeswitchDirectory(rt, rt.config.freeswitchAuth, edge));
    },
    async start() {
      if (!rt.config.asteriskDbUrl) return;
      asterisk = knex({
        client: 'mysql2',
        connection: mysqlConnection(rt.config.asteriskDbUrl),
        pool: { min: 0, max: 4 },
      });
      // Changes made here only: the node that made a change writes its rows, once.
      unsubscribe = rt.changes.subscribe(onChange);
      // Processes started together on one database share the full sync: one of them writes every extension.
      await rt.leases.oncePer('pbx-full-sync', FULL_SYNC_LEASE_MS, async () => {
        const ids = (await rt.db.knex('extensions').select('id')).map((r: { id: string }) => r.id);
        log.info({ extensions: ids.length }, 'Asterisk realtime sync started');
        void enqueue(ids);
      });
    },
    async stop() {
      unsubscribe?.();
      await queue;
      await asterisk?.destroy();
      asterisk = null;
    },
  };
}

