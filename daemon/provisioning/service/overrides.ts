import type { Knex } from 'knex';
import { type Scope, scoped } from '../../admin/service/scope';
import type { ChangeFeed } from '../../core/changes';
import { NotFoundError } from '../../core/errors';
import { newId, now } from '../../core/ids';
import { fromJsonColumn, toJsonColumn } from '../../storage/json';
import { validateOverrides } from '../model/overrides';
import type { SettingsOverrides } from '../model/settings';

type OverrideScope = 'tenant' | 'site';

async function owner(knex: Knex, scope: Scope, kind: OverrideScope, id: string): Promise<string> {
  const row = kind === 'tenant'
    ? await scoped(knex('tenants').where('id', id), scope, 'id').first('id')
    : await scoped(knex('sites').where('id', id), scope).first('tenant_id');
  if (!row) throw new NotFoundError(kind);
  return kind === 'tenant' ? row.id : row.tenant_id;
}

export async function getOverrides(knex: Knex, scope: Scope, kind: OverrideScope, id: string): Promise<SettingsOverrides> {
  await owner(knex, scope, kind, id);
  const row = await knex('provisioning_overrides').where({ scope: kind, scope_id: id }).first('settings');
  return row ? fromJsonColumn<SettingsOverrides>(row.settings, {}) : {};
}

/** Replaces the overrides of a tenant or a site; every phone under it gets them at its next fetch. */
export async function putOverrides(knex: Knex, changes: ChangeFeed, scope: Scope, kind: OverrideScope, id: string, input: unknown): Promise<SettingsOverrides> {
  const tenantId = await owner(knex, scope, kind, id);
  const settings = validateOverrides(input, 'body');
  const at = now();
  const updated = await knex('provisioning_overrides').where({ scope: kind, scope_id: id }).update({ settings: toJsonColumn(settings), updated_at: at });
  if (!updated) await knex('provisioning_overrides').insert({ id: newId(), tenant_id: tenantId, scope: kind, scope_id: id, settings: toJsonColumn(settings), updated_at: at });
  changes.publish({ kind, id, tenantId, action: 'updated', actor: scope.actor });
  return settings;
}
