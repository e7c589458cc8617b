import type { Knex } from 'knex';
import type { ChangeFeed } from '../../core/changes';
import { now } from '../../core/ids';
import { type PbxKind, validateTenantPbx } from '../domain/tenant-pbx';
import type { Scope } from './scope';
import { getTenant } from './tenants';

/** The PBX a tenant's calls go to, and whether it is the tenant's own or DIALTONE_PBX_URI. */
export interface TenantPbx {
  tenantId: string;
  uri: string | null;
  kind: PbxKind | null;
  source: 'tenant' | 'default' | 'none';
}

/** Every tenant's own PBX, for the proxy's directory (no scope: the daemon reads it). */
export async function ownPbxRows(knex: Knex): Promise<{ tenantId: string; uri: string; kind: PbxKind }[]> {
  const rows = await knex('tenant_pbx').select('tenant_id', 'uri', 'kind');
  return rows.map((r: { tenant_id: string; uri: string; kind: PbxKind }) => ({ tenantId: r.tenant_id, uri: r.uri, kind: r.kind }));
}

export async function ownPbx(knex: Knex, tenantId: string): Promise<{ uri: string; kind: PbxKind } | null> {
  const row = await knex('tenant_pbx').where('tenant_id', tenantId).first('uri', 'kind');
  return row ? { uri: row.uri, kind: row.kind } : null;
}

export async function getTenantPbx(knex: Knex, scope: Scope, tenantId: string, defaultUri: string | null): Promise<TenantPbx> {
  const tenant = await getTenant(knex, scope, tenantId);
  const own = await ownPbx(knex, tenant.id);
  if (own) return { tenantId: tenant.id, ...own, source: 'tenant' };
  return defaultUri ? { tenantId: tenant.id, uri: defaultUri, kind: 'other', source: 'default' } : { tenantId: tenant.id, uri: null, kind: null, source: 'none' };
}

export async function setTenantPbx(knex: Knex, changes: ChangeFeed, scope: Scope, tenantId: string, body: unknown, defaultUri: string | null): Promise<TenantPbx> {
  const tenant = await getTenant(knex, scope, tenantId);
  const fields = validateTenantPbx(body);
  const row = { uri: fields.uri, kind: fields.kind, updated_at: now() };
  await knex('tenant_pbx').insert({ tenant_id: tenant.id, ...row }).onConflict('tenant_id').merge(row);
  changes.publish({ kind: 'pbx', id: tenant.id, tenantId: tenant.id, action: 'updated', actor: scope.actor });
  return getTenantPbx(knex, scope, tenant.id, defaultUri);
}

/** Back to DIALTONE_PBX_URI. */
export async function clearTenantPbx(knex: Knex, changes: ChangeFeed, scope: Scope, tenantId: string, defaultUri: string | null): Promise<TenantPbx> {
  const tenant = await getTenant(knex, scope, tenantId);
  const removed = await knex('tenant_pbx').where('tenant_id', tenant.id).delete();
  if (removed > 0) changes.publish({ kind: 'pbx', id: tenant.id, tenantId: tenant.id, action: 'updated', actor: scope.actor });
  return getTenantPbx(knex, scope, tenant.id, defaultUri);
}
