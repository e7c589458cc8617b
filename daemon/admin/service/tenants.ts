import type { Knex } from 'knex';
import type { ChangeFeed } from '../../core/changes';
import { NotFoundError, Problems, ValidationError } from '../../core/errors';
import { newId, now } from '../../core/ids';
import { validateNewProfile } from '../domain/profile';
import { validateTenant } from '../domain/tenant';
import { tenantFromRow, userFromRow, type Tenant, type User } from '../store/rows';
import { translateUnique } from '../../storage/errors';
import { isPlainObject, requireObject } from '../domain/fields';
import { type Scope, scoped } from './scope';
import { USER_UNIQUE, userRow } from './users';

export const TENANT_UNIQUE = { 'tenants.sip_domain': { field: 'sipDomain', reason: 'is already used by another tenant' } };

/** A tenant is born with its primary administrator: the seeds' reassignment target must always exist. */
export async function createTenant(knex: Knex, input: unknown, changes?: ChangeFeed, actor = 'operator'): Promise<{ tenant: Tenant; admin: User }> {
  // Every problem at once, the tenant's and its administrator's.
  const problems = new Problems();
  const fields = problems.collect(() => validateTenant(input));
  const adminInput = isPlainObject(input) ? input.admin : undefined;
  let admin = null;
  if (!isPlainObject(adminInput)) {
    problems.add('admin', 'is required: {firstName, lastName, email, username?}');
  } else {
    try {
      admin = validateNewProfile(adminInput);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      for (const d of err.details) problems.add(`admin.${d.field}`, d.reason);
    }
  }
  problems.throwIfAny();
  const at = now();
  const tenantId = newId();
  const adminId = newId();
  try {
    await knex.transaction(async (trx) => {
      await trx('tenants').insert({ id: tenantId, name: fields!.name, sip_domain: fields!.sipDomain, primary_admin_user_id: null, created_at: at, updated_at: at });
      await trx('users').insert({ ...userRow(admin!), id: adminId, tenant_id: tenantId, is_admin: true, status: 'active', kind: 'person', created_at: at, updated_at: at });
      await trx('tenants').where('id', tenantId).update({ primary_admin_user_id: adminId });
    });
  } catch (err) {
    translateUnique(err, { ...TENANT_UNIQUE, ...prefixed(USER_UNIQUE, 'admin.') });
  }
  changes?.publish({ kind: 'tenant', id: tenantId, tenantId, action: 'created', actor });
  const tenant = tenantFromRow(await knex('tenants').where('id', tenantId).first());
  const adminUser = userFromRow(await knex('users').where('id', adminId).first());
  return { tenant, admin: adminUser };
}

function prefixed(map: Record<string, { field: string; reason: string }>, prefix: string) {
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, { ...v, field: prefix + v.field }]));
}

export async function getTenant(knex: Knex, scope: Scope, id: string): Promise<Tenant> {
  const row = await scoped(knex('tenants').where('id', id), scope, 'id').first();
  if (!row) throw new NotFoundError('tenant');
  return tenantFromRow(row);
}

export async function listTenants(knex: Knex, scope: Scope): Promise<Tenant[]> {
  const rows = await scoped(knex('tenants'), scope, 'id').orderBy('name');
  return rows.map(tenantFromRow);
}

export async function findTenantByDomain(knex: Knex, domain: string): Promise<Tenant | null> {
  const row = await knex('tenants').where('sip_domain', domain.toLowerCase()).first();
  return row ? tenantFromRow(row) : null;
}

/** Name and primary administrator may change; the SIP domain is in every phone's configuration and does not. */
export async function updateTenant(knex: Knex, scope: Scope, id: string, body: unknown, changes?: ChangeFeed): Promise<Tenant> {
  const tenant = await getTenant(knex, scope, id);
  const p = new Problems();
  const input = requireObject(body);
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(input)) {
    if (key === 'name') {
      const v = input.name;
      if (typeof v !== 'string' || v.trim() === '' || v.length > 100) p.add('name', 'must be 1 to 100 characters');
      else patch.name = v.trim();
    } else if (key === 'primaryAdminUserId') {
      const v = input.primaryAdminUserId;
      const user = typeof v === 'string' ? await knex('users').where({ id: v, tenant_id: tenant.id }).first() : undefined;
      if (!user) p.add('primaryAdminUserId', 'must be a profile of this tenant');
      else if (user.status !== 'active') p.add('primaryAdminUserId', 'must be an active profile');
      else patch.primary_admin_user_id = v;
    } else if (key === 'sipDomain') {
      p.add('sipDomain', 'cannot change: every provisioned phone registers to it');
    } else {
      p.add(key, 'is not a tenant field');
    }
  }
  p.throwIfAny();
  if (patch.primary_admin_user_id) await knex('users').where('id', patch.primary_admin_user_id as string).update({ is_admin: true });
  await knex('tenants').where('id', tenant.id).update({ ...patch, updated_at: now() });
  changes?.publish({ kind: 'tenant', id: tenant.id, tenantId: tenant.id, action: 'updated', actor: scope.actor });
  return getTenant(knex, scope, id);
}
