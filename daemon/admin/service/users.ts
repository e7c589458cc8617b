import type { Knex } from 'knex';
import type { ChangeFeed } from '../../core/changes';
import { NotFoundError, RefusedError, ValidationError } from '../../core/errors';
import { newId, now } from '../../core/ids';
import { settingsForReassignment } from '../domain/extension';
import { type ProfileFields, usernameKey, validateNewProfile, validateProfilePatch } from '../domain/profile';
import { extensionFromRow, userFromRow, type User } from '../store/rows';
import { translateUnique } from '../../storage/errors';
import { toJsonColumn } from '../../storage/json';
import { whereContains } from '../../storage/like';
import { type Scope, scoped, tenantForCreate } from './scope';
import { type Page, type PageQuery, paginate } from './paging';

export const USER_UNIQUE = { 'users.username_key': { field: 'username', reason: 'is already taken (usernames are unique across all accounts, ignoring case)' } };

export function userRow(f: Partial<ProfileFields>): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  if (f.firstName !== undefined) row.first_name = f.firstName;
  if (f.lastName !== undefined) row.last_name = f.lastName;
  if (f.email !== undefined) row.email = f.email;
  if (f.username !== undefined) {
    row.username = f.username;
    row.username_key = usernameKey(f.username);
  }
  if (f.jobTitle !== undefined) row.job_title = f.jobTitle;
  if (f.department !== undefined) row.department = f.department;
  if (f.address !== undefined) row.address = f.address === null ? null : toJsonColumn(f.address);
  if (f.personalPhone !== undefined) row.personal_phone = f.personalPhone;
  if (f.language !== undefined) row.language = f.language;
  if (f.siteId !== undefined) row.site_id = f.siteId;
  if (f.directory !== undefined) row.in_directory = f.directory;
  return row;
}

async function checkSite(knex: Knex, tenantId: string, siteId: string | null | undefined): Promise<void> {
  if (!siteId) return;
  const site = await knex('sites').where({ id: siteId, tenant_id: tenantId }).first('id');
  if (!site) throw new ValidationError([{ field: 'siteId', reason: 'is not a site of this tenant' }]);
}

export async function createUser(knex: Knex, changes: ChangeFeed, scope: Scope, input: unknown, kind: 'person' | 'place' = 'person'): Promise<User> {
  const fields = validateNewProfile(input);
  const tenantId = await tenantForCreate(knex, scope, (input as Record<string, unknown>).tenantId);
  await checkSite(knex, tenantId, fields.siteId);
  const id = newId();
  const at = now();
  try {
    await knex('users').insert({ ...userRow(fields), id, tenant_id: tenantId, kind, status: 'active', is_admin: false, created_at: at, updated_at: at });
  } catch (err) {
    translateUnique(err, USER_UNIQUE);
  }
  changes.publish({ kind: 'user', id, tenantId, action: 'created', actor: scope.actor });
  return getUser(knex, scope, id);
}

export async function getUser(knex: Knex, scope: Scope, id: string): Promise<User> {
  const row = await scoped(knex('users').where('id', id), scope).first();
  if (!row) throw new NotFoundError('user');
  return userFromRow(row);
}

export interface UserFilter extends PageQuery {
  name?: string;
  email?: string;
  username?: string;
  status?: string;
  extension?: string;
  siteId?: string;
}

export async function listUsers(knex: Knex, scope: Scope, f: UserFilter): Promise<Page<User>> {
  const q = scoped(knex('users'), scope);
  // "Ada Love" finds Ada Lovelace: every word must appear in the first or the last name.
  for (const word of (f.name ?? '').split(/\s+/).filter(Boolean)) {
    q.where((w) => {
      whereContains(w, 'first_name', word);
      w.orWhere((o) => whereContains(o, 'last_name', word));
    });
  }
  if (f.email) whereContains(q, 'email', f.email);
  if (f.username) whereContains(q, 'username', f.username);
  if (f.status) q.where('status', f.status);
  if (f.siteId) q.where('site_id', f.siteId);
  if (f.extension) q.whereIn('id', knex('extensions').select('user_id').where('number', f.extension).whereNotNull('user_id'));
  return paginate(q, f, 'username_key', userFromRow);
}

export async function patchUser(knex: Knex, changes: ChangeFeed, scope: Scope, id: string, input: unknown): Promise<User> {
  const user = await getUser(knex, scope, id);
  if (typeof input === 'object' && input !== null && 'tenantId' in input) {
    throw new ValidationError([{ field: 'tenantId', reason: 'a profile cannot move to another tenant' }]);
  }
  const patch = validateProfilePatch(input);
  await checkSite(knex, user.tenantId, patch.siteId);
  try {
    await knex('users').where('id', id).update({ ...userRow(patch), updated_at: now() });
  } catch (err) {
    translateUnique(err, USER_UNIQUE);
  }
  changes.publish({ kind: 'user', id, tenantId: user.tenantId, action: 'updated', actor: scope.actor });
  return getUser(knex, scope, id);
}

export async function deleteUser(): Promise<never> {
  throw new RefusedError('Profiles are never deleted, so that the history of who held an extension is kept. Disable the profile instead: POST /api/v1/users/{id}/disable removes its access and hands its extensions to the primary administrator.');
}

/**
 * The seeds: disabling removes access everywhere and hands every extension to
 * the tenant's primary administrator, whose email then receives voicemail and
 * fax mail. One transaction, so no extension is left half-moved.
 */
export async function disableUser(knex: Knex, changes: ChangeFeed, scope: Scope, id: string): Promise<{ user: User; reassignedExtensionIds: string[] }> {
  const user = await getUser(knex, scope, id);
  if (user.status === 'disabled') return { user, reassignedExtensionIds: [] };
  const tenant = await knex('tenants').where('id', user.tenantId).first();
  if (tenant.primary_admin_user_id === user.id) {
    throw new RefusedError('This profile is the primary administrator, who receives the extensions of disabled profiles. Make another profile primary administrator first (PATCH /api/v1/tenants/{id} with primaryAdminUserId).');
  }
  const at = now();
  const moved: string[] = [];
  await knex.transaction(async (trx) => {
    await trx('users').where('id', id).update({ status: 'disabled', disabled_at: at, updated_at: at });
    const rows = await trx('extensions').where('user_id', id);
    for (const row of rows) {
      const ext = extensionFromRow(row);
      const settings = settingsForReassignment(ext.settings, user.email);
      await trx('extensions').where('id', ext.id).update({ user_id: tenant.primary_admin_user_id, settings: toJsonColumn(settings), updated_at: at });
      await trx('extension_assignments').insert({ id: newId(), extension_id: ext.id, user_id: tenant.primary_admin_user_id, previous_user_id: id, reason: 'profile_disabled', at });
      moved.push(ext.id);
    }
  });
  changes.publish({ kind: 'user', id, tenantId: user.tenantId, action: 'disabled', actor: scope.actor });
  for (const extId of moved) changes.publish({ kind: 'extension', id: extId, tenantId: user.tenantId, action: 'reassigned', actor: scope.actor });
  return { user: await getUser(knex, scope, id), reassignedExtensionIds: moved };
}

/** Enabling restores access; extensions stay with whoever holds them now, since they may have been given to someone else. */
export async function enableUser(knex: Knex, changes: ChangeFeed, scope: Scope, id: string): Promise<User> {
  const user = await getUser(knex, scope, id);
  if (user.status === 'active') return user;
  await knex('users').where('id', id).update({ status: 'active', disabled_at: null, updated_at: now() });
  changes.publish({ kind: 'user', id, tenantId: user.tenantId, action: 'enabled', actor: scope.actor });
  return getUser(knex, scope, id);
}

