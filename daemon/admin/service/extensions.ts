import type { Knex } from 'knex';
import type { ChangeFeed } from '../../core/changes';
import { NotFoundError, Problems } from '../../core/errors';
import { newId, now } from '../../core/ids';
import type { SecretBox } from '../../crypto/secret-box';
import { randomString } from '../../crypto/random';
import { DEFAULT_SETTINGS, type EffectiveSettings, type ExtensionSettings, SETTING_KEYS, applySettings, effectiveSettings, validateNumber } from '../domain/extension';
import { isPlainObject, requireObject } from '../domain/fields';
import { extensionFromRow, siteFromRow, userFromRow, type Extension, type Site, type User } from '../store/rows';
import { translateUnique } from '../../storage/errors';
import { toJsonColumn } from '../../storage/json';
import { type Scope, scoped, tenantForCreate } from './scope';
import { type Page, type PageQuery, paginate } from './paging';
import { createUser } from './users';

export const EXTENSION_UNIQUE = {
  'extensions.tenant_id+number': { field: 'number', reason: 'is already an extension of this tenant' },
};

export interface Deps {
  knex: Knex;
  changes: ChangeFeed;
  secrets: SecretBox;
}

/** An extension as the API shows it: settings resolved against profile and site, no secret. */
export interface ExtensionView extends EffectiveSettings {
  id: string;
  tenantId: string;
  number: string;
  userId: string | null;
  siteId: string | null;
  createdAt: string;
  updatedAt: string;
}

const TOP_LEVEL = ['tenantId', 'number', 'userId', 'siteId', 'place', ...SETTING_KEYS];

function rejectUnknown(p: Problems, body: Record<string, unknown>): void {
  for (const key of Object.keys(body)) if (!TOP_LEVEL.includes(key)) p.add(key, 'is not an extension field');
}

const sipUsername = (number: string) => `${number}x${randomString(6, 'abcdefghjkmnpqrstuvwxyz23456789')}`;
const sipPassword = () => randomString(24);

async function activeProfile(knex: Knex, tenantId: string, userId: unknown, p: Problems): Promise<User | null> {
  if (typeof userId !== 'string') {
    p.add('userId', 'is required: every extension belongs to one profile (or give place: {name} for a lobby or conference room)');
    return null;
  }
  const row = await knex('users').where({ id: userId, tenant_id: tenantId }).first();
  if (!row) p.add('userId', 'is not a profile of this tenant');
  else if (row.status !== 'active') p.add('userId', 'is a disabled profile; enable it or choose another');
  return row ? userFromRow(row) : null;
}

async function checkSite(knex: Knex, tenantId: string, siteId: unknown, p: Problems): Promise<void> {
  if (siteId === undefined || siteId === null) return;
  if (typeof siteId !== 'string' || !(await knex('sites').where({ id: siteId, tenant_id: tenantId }).first('id'))) {
    p.add('siteId', 'is not a site of this tenant');
  }
}

/**
 * The seeds: a place (lobby, conference room) gets a profile of its own,
 * named after it, with the primary administrator's email.
 */
async function placeProfileInput(knex: Knex, tenantId: string, place: unknown, p: Problems): Promise<Record<string, unknown> | null> {
  if (!isPlainObject(place) || typeof place.name !== 'string' || place.name.trim() === '') {
    p.add('place.name', 'is required, such as "Front Lobby"');
    return null;
  }
  const tenant = await knex('tenants').where('id', tenantId).first('primary_admin_user_id');
  const admin = await knex('users').where('id', tenant.primary_admin_user_id).first('email');
  const words = place.name.trim().split(/\s+/);
  return {
    tenantId, firstName: words[0], lastName: words.slice(1).join(' ') || words[0], email: admin.email,
    username: typeof place.username === 'string' ? place.username : place.name.trim(),
  };
}

/** The rows of a new extension with fresh SIP credentials; shared with bulk import so both create extensions alike. */
export function newExtensionRows(secrets: SecretBox, e: { tenantId: string; number: string; userId: string; siteId: string | null; settings: ExtensionSettings; pin: string | null; at: string }) {
  const id = newId();
  return {
    extension: {
      id, tenant_id: e.tenantId, number: e.number, user_id: e.userId, site_id: e.siteId,
      settings: toJsonColumn(e.settings), voicemail_pin_sealed: e.pin ? secrets.seal(e.pin) : null,
      sip_username: sipUsername(e.number), sip_password_sealed: secrets.seal(sipPassword()), sip_rotated_at: e.at,
      created_at: e.at, updated_at: e.at,
    } as Record<string, unknown>,
    assignment: { id: newId(), extension_id: id, user_id: e.userId, previous_user_id: null, reason: 'created', at: e.at },
  };
}

export async function createExtension(d: Deps, scope: Scope, body: unknown): Promise<ExtensionView> {
  const input = requireObject(body);
  const tenantId = await tenantForCreate(d.knex, scope, input.tenantId);
  const p = new Problems();
  rejectUnknown(p, input);
  const number = validateNumber(p, input.number);
  if ('place' in input && 'userId' in input) p.add('place', 'give either userId or place, not both');
  const place = 'place' in input ? await placeProfileInput(d.knex, tenantId, input.place, p) : null;
  const owner = place ? null : await activeProfile(d.knex, tenantId, input.userId, p);
  await checkSite(d.knex, tenantId, input.siteId, p);
  const ownerEmail = (place?.email as string | undefined) ?? owner?.email ?? null;
  const applied = p.collect(() => applySettings(DEFAULT_SETTINGS, input, { number, profileEmail: ownerEmail }));
  p.throwIfAny();
  const { settings, pin } = applied!;
  const at = now();
  let id = '';
  try {
    await d.knex.transaction(async (trx) => {
      const userId = place ? (await createUser(trx, d.changes, scope, place, 'place')).id : owner!.id;
      const { extension, assignment } = newExtensionRows(d.secrets, { tenantId, number: number!, userId, siteId: (input.siteId as string | undefined) ?? null, settings, pin, at });
      id = extension.id as string;
      await trx('extensions').insert(extension);
      await trx('extension_assignments').insert(assignment);
    });
  } catch (err) {
    translateUnique(err, EXTENSION_UNIQUE);
  }
  d.changes.publish({ kind: 'extension', id, tenantId, action: 'created', actor: scope.actor });
  return getExtension(d.knex, scope, id);
}

export async function findExtension(knex: Knex, scope: Scope, id: string): Promise<Extension> {
  const row = await scoped(knex('extensions').where('id', id), scope).first();
  if (!row) throw new NotFoundError('extension');
  return extensionFromRow(row);
}

function toView(ext: Extension, owner: User | null, site: Site | null): ExtensionView {
  const effective = effectiveSettings(ext.settings, {
    number: ext.number,
    owner: owner ?? { firstName: '', lastName: '', email: '' },
    siteAddress: site?.address ?? null,
    pinSet: ext.pinSealed !== null,
  });
  return {
    id: ext.id, tenantId: ext.tenantId, number: ext.number, userId: ext.userId, siteId: ext.siteId,
    ...effective, createdAt: ext.createdAt, updatedAt: ext.updatedAt,
  };
}

/** Views for many extensions with one query for their owners and one for their sites. */
async function views(knex: Knex, exts: Extension[]): Promise<ExtensionView[]> {
  const userIds = [...new Set(exts.map((e) => e.userId).filter((id): id is string => id !== null))];
  const owners = new Map((userIds.length ? await knex('users').whereIn('id', userIds) : []).map((r) => [r.id as string, userFromRow(r)]));
  const siteOf = (e: Extension) => e.siteId ?? (e.userId ? owners.get(e.userId)?.siteId ?? null : null);
  const siteIds = [...new Set(exts.map(siteOf).filter((id): id is string => id !== null))];
  const sites = new Map((siteIds.length ? await knex('sites').whereIn('id', siteIds) : []).map((r) => [r.id as string, siteFromRow(r)]));
  return exts.map((e) => {
    const siteId = siteOf(e);
    return toView(e, e.userId ? owners.get(e.userId) ?? null : null, siteId ? sites.get(siteId) ?? null : null);
  });
}

export async function getExtension(knex: Knex, scope: Scope, id: string): Promise<ExtensionView> {
  const [view] = await views(knex, [await findExtension(knex, scope, id)]);
  return view!;
}

export async function listExtensions(knex: Knex, scope: Scope, f: PageQuery & { number?: string; userId?: string }): Promise<Page<ExtensionView>> {
  const q = scoped(knex('extensions'), scope);
  if (f.number) q.where('number', f.number);
  if (f.userId) q.where('user_id', f.userId);
  const page = await paginate(q, f, 'number', extensionFromRow);
  return { ...page, items: await views(knex, page.items) };
}

export async function patchExtension(d: Deps, scope: Scope, id: string, body: unknown): Promise<ExtensionView> {
  const ext = await findExtension(d.knex, scope, id);
  const input = requireObject(body);
  const p = new Problems();
  rejectUnknown(p, input);
  if ('tenantId' in input) p.add('tenantId', 'an extension cannot move to another tenant');
  if ('place' in input) p.add('place', 'applies when creating an extension; assign a place profile with userId');
  const number = 'number' in input ? validateNumber(p, input.number) : ext.number;
  const owner = 'userId' in input ? await activeProfile(d.knex, ext.tenantId, input.userId, p) : null;
  if ('siteId' in input) await checkSite(d.knex, ext.tenantId, input.siteId, p);
  const currentOwner = owner ?? (ext.userId ? userFromRow(await d.knex('users').where('id', ext.userId).first()) : null);
  const applied = p.collect(() => applySettings(ext.settings, input, { number, profileEmail: currentOwner?.email ?? null }));
  p.throwIfAny();
  const { settings, pin } = applied!;
  const at = now();
  const row: Record<string, unknown> = { settings: toJsonColumn(settings), updated_at: at };
  if (number !== ext.number) row.number = number;
  if (pin) row.voicemail_pin_sealed = d.secrets.seal(pin);
  if ('siteId' in input) row.site_id = input.siteId ?? null;
  if (owner && owner.id !== ext.userId) row.user_id = owner.id;
  try {
    await d.knex.transaction(async (trx) => {
      await trx('extensions').where('id', id).update(row);
      if (row.user_id) {
        await trx('extension_assignments').insert({ id: newId(), extension_id: id, user_id: owner!.id, previous_user_id: ext.userId, reason: 'assigned', at });
      }
    });
  } catch (err) {
    translateUnique(err, EXTENSION_UNIQUE);
  }
  d.changes.publish({ kind: 'extension', id, tenantId: ext.tenantId, action: row.user_id ? 'reassigned' : 'updated', actor: scope.actor });
  return getExtension(d.knex, scope, id);
}

export interface SipCredentials {
  username: string;
  password: string;
  domain: string;
}

/** Plain-text credentials, for a phone's configuration and the registrar only. */
export async function sipCredentials(d: Pick<Deps, 'knex' | 'secrets'>, scope: Scope, id: string): Promise<SipCredentials> {
  const ext = await findExtension(d.knex, scope, id);
  const tenant = await d.knex('tenants').where('id', ext.tenantId).first('sip_domain');
  return { username: ext.sipUsername, password: d.secrets.open(ext.sipPasswordSealed), domain: tenant.sip_domain };
}

/** What the registrar needs to check a digest: found by the request's domain and the digest username. */
export async function findBySipIdentity(d: Pick<Deps, 'knex' | 'secrets'>, domain: string, username: string): Promise<{ extension: Extension; password: string } | null> {
  const row = await d.knex('extensions')
    .join('tenants', 'tenants.id', 'extensions.tenant_id')
    .where('tenants.sip_domain', domain.toLowerCase())
    .where('extensions.sip_username', username)
    .first('extensions.*');
  if (!row) return null;
  const extension = extensionFromRow(row);
  return { extension, password: d.secrets.open(extension.sipPasswordSealed) };
}

/** New credentials; phones get them at their next fetch, so callers resync provisioned devices. */
export async function rotateSipCredentials(d: Deps, scope: Scope, id: string): Promise<void> {
  const ext = await findExtension(d.knex, scope, id);
  const at = now();
  await d.knex('extensions').where('id', id).update({
    sip_username: sipUsername(ext.number), sip_password_sealed: d.secrets.seal(sipPassword()), sip_rotated_at: at, updated_at: at,
  });
  d.changes.publish({ kind: 'extension', id, tenantId: ext.tenantId, action: 'credentials', actor: scope.actor });
}

export async function voicemailPin(d: Pick<Deps, 'knex' | 'secrets'>, ext: Extension): Promise<string | null> {
  return ext.pinSealed ? d.secrets.open(ext.pinSealed) : null;
}

export interface Assignment {
  userId: string | null;
  previousUserId: string | null;
  reason: string;
  at: string;
}

/** Who held the extension and why it changed hands, oldest first. */
export async function assignmentHistory(knex: Knex, scope: Scope, id: string): Promise<Assignment[]> {
  await findExtension(knex, scope, id);
  const rows = await knex('extension_assignments').where('extension_id', id).orderBy('at').orderBy('id');
  return rows.map((r) => ({ userId: r.user_id ?? null, previousUserId: r.previous_user_id ?? null, reason: r.reason, at: r.at }));
}

/** Extensions a change to a user, site or tenant touches. */
export async function affectedExtensionIds(knex: Knex, kind: 'tenant' | 'site' | 'user' | 'extension' | 'pbx', id: string): Promise<string[]> {
  if (kind === 'extension') return [id];
  // The PBX an extension's calls reach is in no phone's file and no PBX row.
  if (kind === 'pbx') return [];
  const q = knex('extensions').select('extensions.id');
  if (kind === 'tenant') q.where('tenant_id', id);
  if (kind === 'user') q.where('user_id', id);
  if (kind === 'site') q.leftJoin('users', 'users.id', 'extensions.user_id').where((w) => w.where('extensions.site_id', id).orWhere('users.site_id', id));
  return (await q).map((r: { id: string }) => r.id);
}
