import type { Knex } from 'knex';
import { newId, now } from '../core/ids';
import { randomString, sha256 } from '../crypto/random';
import { NotFoundError } from '../core/errors';

const PREFIX = 'scim_';

/** One bearer token per identity provider connection, limited to one tenant; shown once, stored hashed. */
export async function createScimToken(knex: Knex, tenantId: string, label: string): Promise<{ id: string; token: string }> {
  const token = PREFIX + randomString(40);
  const id = newId();
  await knex('scim_tokens').insert({ id, token_hash: sha256(token), tenant_id: tenantId, label: label.slice(0, 100), created_at: now(), revoked_at: null });
  return { id, token };
}

export async function scimTokenTenant(knex: Knex, token: string): Promise<{ tokenId: string; tenantId: string } | null> {
  if (!token.startsWith(PREFIX) || token.length > 200) return null;
  const row = await knex('scim_tokens').where('token_hash', sha256(token)).whereNull('revoked_at').first('id', 'tenant_id');
  return row ? { tokenId: row.id, tenantId: row.tenant_id } : null;
}

export async function revokeScimToken(knex: Knex, tenantId: string | null, id: string): Promise<string> {
  const q = knex('scim_tokens').where('id', id).whereNull('revoked_at');
  if (tenantId) q.where('tenant_id', tenantId);
  const row = await q.clone().first('tenant_id');
  if (!row) throw new NotFoundError('SCIM token');
  await q.update({ revoked_at: now() });
  return row.tenant_id;
}
