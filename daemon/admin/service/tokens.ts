import type { Knex } from 'knex';
import { randomString, sha256 } from '../../crypto/random';
import { NotFoundError } from '../../core/errors';
import { newId, now } from '../../core/ids';
import type { Scope } from './scope';
import { recordAudit } from '../../audit/log';

const PREFIX = 'dt_';

/**
 * API tokens are shown once and kept only as a SHA-256 hash: they are long
 * random strings, so a slow password hash would buy nothing on every request.
 */
export async function createToken(knex: Knex, opts: { tenantId: string | null; userId?: string | null; label: string; actor?: string }): Promise<{ id: string; token: string }> {
  if (opts.tenantId !== null) {
    const tenant = await knex('tenants').where('id', opts.tenantId).first('id');
    if (!tenant) throw new NotFoundError('tenant');
  }
  const token = PREFIX + randomString(40);
  const id = newId();
  await knex('api_tokens').insert({
    id, token_hash: sha256(token), tenant_id: opts.tenantId, user_id: opts.userId ?? null,
    label: opts.label.slice(0, 100), created_at: now(), last_used_at: null, revoked_at: null,
  });
  await recordAudit(knex, { tenantId: opts.tenantId, actor: opts.actor ?? 'cli', kind: 'api_token', objectId: id, action: 'created', detail: { label: opts.label.slice(0, 100), operator: opts.tenantId === null } });
  return { id, token };
}

export async function authenticateToken(knex: Knex, token: string): Promise<Scope | null> {
  if (!token.startsWith(PREFIX) || token.length > 200) return null;
  const row = await knex('api_tokens').where('token_hash', sha256(token)).whereNull('revoked_at').first('id', 'tenant_id', 'user_id');
  if (!row) return null;
  if (row.user_id) {
    // An administrator's token dies with the administrator's profile.
    const user = await knex('users').where('id', row.user_id).first('status');
    if (!user || user.status !== 'active') return null;
  }
  return { tenantId: row.tenant_id ?? null, actor: row.user_id ? `user:${row.user_id}` : `token:${row.id}` };
}

export async function revokeToken(knex: Knex, id: string, actor = 'cli'): Promise<void> {
  const n = await knex('api_tokens').where('id', id).whereNull('revoked_at').update({ revoked_at: now() });
  if (n === 0) throw new NotFoundError('token');
  const row = await knex('api_tokens').where('id', id).first('tenant_id');
  await recordAudit(knex, { tenantId: row.tenant_id ?? null, actor, kind: 'api_token', objectId: id, action: 'revoked' });
}
