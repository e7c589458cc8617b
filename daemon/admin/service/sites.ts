import type { Knex } from 'knex';
import type { ChangeFeed } from '../../core/changes';
import { NotFoundError } from '../../core/errors';
import { newId, now } from '../../core/ids';
import { validateSite } from '../domain/site';
import { siteFromRow, type Site } from '../store/rows';
import { toJsonColumn } from '../../storage/json';
import { whereContains } from '../../storage/like';
import { type Scope, scoped, tenantForCreate } from './scope';
import { type Page, type PageQuery, paginate } from './paging';

export async function createSite(knex: Knex, changes: ChangeFeed, scope: Scope, input: unknown): Promise<Site> {
  const fields = validateSite(input);
  const tenantId = await tenantForCreate(knex, scope, (input as Record<string, unknown>).tenantId);
  const id = newId();
  const at = now();
  await knex('sites').insert({
    id, tenant_id: tenantId, name: fields.name, address: toJsonColumn(fields.address),
    timezone: fields.timezone, language: fields.language, created_at: at, updated_at: at,
  });
  changes.publish({ kind: 'site', id, tenantId, action: 'created', actor: scope.actor });
  return getSite(knex, scope, id);
}

export async function getSite(knex: Knex, scope: Scope, id: string): Promise<Site> {
  const row = await scoped(knex('sites').where('id', id), scope).first();
  if (!row) throw new NotFoundError('site');
  return siteFromRow(row);
}

export async function listSites(knex: Knex, scope: Scope, f: PageQuery & { name?: string }): Promise<Page<Site>> {
  const q = scoped(knex('sites'), scope);
  if (f.name) whereContains(q, 'name', f.name);
  return paginate(q, f, 'name', siteFromRow);
}

/** A changed site address moves the emergency address of every extension that follows the site's. */
export async function patchSite(knex: Knex, changes: ChangeFeed, scope: Scope, id: string, input: unknown): Promise<Site> {
  const site = await getSite(knex, scope, id);
  const fields = validateSite(input, { name: site.name, address: site.address, timezone: site.timezone, language: site.language });
  await knex('sites').where('id', id).update({
    name: fields.name, address: toJsonColumn(fields.address), timezone: fields.timezone, language: fields.language, updated_at: now(),
  });
  changes.publish({ kind: 'site', id, tenantId: site.tenantId, action: 'updated', actor: scope.actor });
  return getSite(knex, scope, id);
}
