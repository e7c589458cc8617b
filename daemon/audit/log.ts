import type { Knex } from 'knex';
import type { Change, ChangeFeed } from '../core/changes';
import { newId, now } from '../core/ids';
import type { Logger } from '../core/log';
import { type Scope, scoped } from '../admin/service/scope';
import { type Page, type PageQuery, paginate } from '../admin/service/paging';
import { fromJsonColumn, toJsonColumn } from '../storage/json';

export type AuditKind = Change['kind'] | 'password' | 'password_link' | 'session' | 'scim_token' | 'api_token' | 'bulk_import' | 'adoption';

export interface AuditEntry {
  tenantId: string | null;
  actor: string;
  kind: AuditKind;
  objectId: string;
  action: string;
  detail?: Record<string, string | number | boolean | null>;
}

export interface AuditRecord extends Required<AuditEntry> {
  id: string;
  at: string;
}

// Details are small facts (a purpose, a count); a key that could name a secret is dropped whatever its value.
const SECRET_KEY = /pass|token|secret|pin|hash|code/i;

export function withoutSecrets(detail: AuditEntry['detail']): Record<string, string | number | boolean | null> {
  return Object.fromEntries(Object.entries(detail ?? {}).filter(([k]) => !SECRET_KEY.test(k)));
}

export async function recordAudit(knex: Knex, e: AuditEntry): Promise<void> {
  await knex('audit_log').insert({
    id: newId(), tenant_id: e.tenantId, at: now(), actor: e.actor.slice(0, 100), kind: e.kind,
    object_id: e.objectId, action: e.action.slice(0, 32), detail: toJsonColumn(withoutSecrets(e.detail)),
  });
}

const fromRow = (r: Record<string, any>): AuditRecord => ({
  id: r.id, tenantId: r.tenant_id ?? null, at: r.at, actor: r.actor, kind: r.kind, objectId: r.object_id,
  action: r.action, detail: fromJsonColumn(r.detail, {}),
});

export interface AuditQuery extends PageQuery {
  kind?: string;
  objectId?: string;
  actor?: string;
  since?: string;
}

/** Newest first would break offset paging while entries arrive, so entries read oldest first; `since` skips ahead. */
export async function listAudit(knex: Knex, scope: Scope, q: AuditQuery): Promise<Page<AuditRecord>> {
  const query = scoped(knex('audit_log'), scope);
  if (q.kind) query.where('kind', q.kind);
  if (q.objectId) query.where('object_id', q.objectId);
  if (q.actor) query.where('actor', q.actor);
  if (q.since) query.where('at', '>=', q.since);
  return paginate(query, q, 'at', fromRow);
}

/**
 * Every committed change to profiles and extensions becomes an entry.
 * Changes arriving together (a bulk upload publishes thousands) are written
 * in multi-row inserts; writes are tracked so tests and shutdown can wait.
 */
export function auditChanges(knex: Knex, changes: ChangeFeed, log: Logger): { stop(): void; idle(): Promise<void> } {
  let buffer: Change[] = [];
  let flushing: Promise<void> | null = null;
  const flush = async (): Promise<void> => {
    await new Promise((resolve) => setImmediate(resolve));
    while (buffer.length > 0) {
      const batch = buffer.splice(0, 200);
      const at = now();
      await knex('audit_log').insert(batch.map((c) => ({
        id: newId(), tenant_id: c.tenantId, at, actor: c.actor.slice(0, 100), kind: c.kind, object_id: c.id, action: c.action, detail: toJsonColumn({}),
      }))).catch((err: unknown) => log.error({ err, entries: batch.length }, 'audit entries not written'));
    }
  };
  const unsubscribe = changes.subscribe((c) => {
    buffer.push(c);
    flushing ??= flush().finally(() => {
      flushing = null;
    });
  });
  return {
    stop: unsubscribe,
    async idle() {
      while (flushing) await flushing;
    },
  };
}
