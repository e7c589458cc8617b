import type { Knex } from 'knex';
import type { ChangeFeed } from '../core/changes';
import { ConflictError, DomainError, NotFoundError, ValidationError } from '../core/errors';
import { now } from '../core/ids';
import type { Scope } from '../admin/service/scope';
import { createUser, disableUser, enableUser, getUser, patchUser } from '../admin/service/users';
import { userFromRow, type User } from '../admin/store/rows';
import { usernameKey } from '../admin/domain/profile';
import { ScimError } from './errors';
import { parseFilter } from './filter';
import { applyPatch } from './patch';
import { checkStorable } from './storable';
import { applyFilter, sortColumn } from './query';
import { fromScimUser, type ScimInput, type ScimResource, scimName, toScimUser } from './resource';
import { MAX_RESULTS } from './discovery';

export interface ScimDeps {
  knex: Knex;
  changes: ChangeFeed;
  baseUrl: string;
}

export const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

/** dialtone's errors in SCIM's words, so an identity provider can act on them. */
export function toScimError(err: unknown): ScimError | null {
  if (err instanceof ScimError) return err;
  if (err instanceof ConflictError) return new ScimError(409, 'uniqueness', err.details.map((d) => `${scimName(d.field)}: ${d.reason}`).join('; '));
  if (err instanceof ValidationError && err.details.some((d) => d.field === 'body')) return new ScimError(400, 'invalidSyntax', err.message);
  if (err instanceof ValidationError) return new ScimError(400, 'invalidValue', err.details.map((d) => `${scimName(d.field)}: ${d.reason}`).join('; '));
  if (err instanceof NotFoundError) return new ScimError(404, null, err.message);
  if (err instanceof DomainError) {
    if (err.code === 'refused') return new ScimError(400, 'mutability', err.message);
    if (err.code === 'unauthorized') return new ScimError(401, null, err.message);
    if (err.code === 'forbidden') return new ScimError(403, null, err.message);
  }
  return null;
}

async function visibleRow(knex: Knex, scope: Scope, id: string): Promise<Record<string, any>> {
  const row = await knex('users').where({ id, tenant_id: scope.tenantId }).whereNull('scim_hidden_at').first();
  if (!row) throw new ScimError(404, null, `User ${id.slice(0, 64)} not found`);
  return row;
}

const resourceOf = (d: ScimDeps, row: Record<string, any>) => toScimUser({ ...userFromRow(row), externalId: row.external_id ?? null }, d.baseUrl);

export async function getScimUser(d: ScimDeps, scope: Scope, id: string): Promise<ScimResource> {
  return resourceOf(d, await visibleRow(d.knex, scope, id));
}

export interface ListQuery {
  filter?: string;
  startIndex?: number;
  count?: number;
  sortBy?: string;
  sortOrder?: string;
}

export async function listScimUsers(d: ScimDeps, scope: Scope, q: ListQuery) {
  const query = d.knex('users').where('tenant_id', scope.tenantId).whereNull('scim_hidden_at');
  if (q.filter !== undefined && q.filter.trim() !== '') applyFilter(query, parseFilter(q.filter));
  const startIndex = Math.max(1, Math.floor(q.startIndex ?? 1));
  const count = Math.min(Math.max(0, Math.floor(q.count ?? 100)), MAX_RESULTS);
  const total = Number(((await query.clone().count({ n: '*' }).first()) as { n: number | string }).n);
  let rows: Record<string, any>[] = [];
  if (count > 0) {
    const ordered = query.clone();
    if (q.sortBy) ordered.orderBy(sortColumn(q.sortBy), q.sortOrder?.toLowerCase() === 'descending' ? 'desc' : 'asc');
    rows = await ordered.orderBy('id').offset(startIndex - 1).limit(count);
  }
  return { schemas: [LIST_RESPONSE], totalResults: total, startIndex, itemsPerPage: rows.length, Resources: rows.map((r) => resourceOf(d, r)) };
}

function profileBody(input: ScimInput, forCreate: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input.profile)) {
    // On create an absent username defaults to the email, as everywhere else.
    if (forCreate && v === null) continue;
    out[k] = v;
  }
  return out;
}

async function applyActive(d: ScimDeps, scope: Scope, user: User, active: boolean | null): Promise<void> {
  if (active === false && user.status === 'active') await disableUser(d.knex, d.changes, scope, user.id);
  if (active === true && user.status === 'disabled') await enableUser(d.knex, d.changes, scope, user.id);
}

export async function createScimUser(d: ScimDeps, scope: Scope, body: unknown): Promise<ScimResource> {
  const input = fromScimUser(body);
  // An identity provider that deleted a user and assigns them again gets the same profile back, with its history.
  const hidden = typeof input.profile.username === 'string'
    ? await d.knex('users').where({ tenant_id: scope.tenantId, username_key: usernameKey(input.profile.username) }).whereNotNull('scim_hidden_at').first('id')
    : null;
  if (hidden) {
    await d.knex('users').where('id', hidden.id).update({ scim_hidden_at: null });
    return replaceScimUser(d, scope, hidden.id, { ...(body as object), active: input.active ?? true });
  }
  if (input.externalId && (await d.knex('users').where({ tenant_id: scope.tenantId, external_id: input.externalId }).whereNull('scim_hidden_at').first('id'))) {
    throw new ScimError(409, 'uniqueness', `externalId ${input.externalId.slice(0, 100)} is already a user`);
  }
  const user = await createUser(d.knex, d.changes, scope, profileBody(input, true));
  if (input.externalId) await d.knex('users').where('id', user.id).update({ external_id: input.externalId });
  await applyActive(d, scope, user, input.active);
  return getScimUser(d, scope, user.id);
}

/** PUT replaces every attribute dialtone stores; an attribute left out is cleared (RFC 7644 §3.5.1). */
export async function replaceScimUser(d: ScimDeps, scope: Scope, id: string, body: unknown): Promise<ScimResource> {
  await visibleRow(d.knex, scope, id);
  const input = fromScimUser(body);
  if (typeof body === 'object' && body !== null && 'id' in body && (body as { id: unknown }).id !== id) {
    throw new ScimError(400, 'mutability', 'id is read-only and must match the URL');
  }
  const updated = await patchUser(d.knex, d.changes, scope, id, profileBody(input, false));
  await d.knex('users').where('id', id).update({ external_id: input.externalId, updated_at: now() });
  await applyActive(d, scope, updated, input.active);
  return getScimUser(d, scope, id);
}

export async function patchScimUser(d: ScimDeps, scope: Scope, id: string, body: unknown): Promise<ScimResource> {
  const current = await getScimUser(d, scope, id);
  const next = applyPatch(current, body);
  checkStorable(current, next);
  return replaceScimUser(d, scope, id, { ...next, id });
}

/**
 * Profiles are never deleted (the seeds keep who held an extension): DELETE
 * disables the profile, handing its extensions to the primary administrator,
 * and hides it from SCIM, which then answers 404 for it.
 */
export async function deleteScimUser(d: ScimDeps, scope: Scope, id: string): Promise<void> {
  await visibleRow(d.knex, scope, id);
  const user = await getUser(d.knex, scope, id);
  if (user.status === 'active') await disableUser(d.knex, d.changes, scope, id);
  await d.knex('users').where('id', id).update({ scim_hidden_at: now() });
}
