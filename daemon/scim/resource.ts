import type { User } from '../admin/store/rows';
import { CORE_USER } from './filter';
import { ENTERPRISE_USER } from './query';
import { ScimError } from './errors';

export type ScimResource = Record<string, unknown>;

/** A profile as SCIM shows it (RFC 7643 §4.1, with the enterprise extension of §4.3). */
export function toScimUser(u: User & { externalId: string | null }, baseUrl: string): ScimResource {
  const r: ScimResource = {
    schemas: [CORE_USER, ENTERPRISE_USER],
    id: u.id,
    ...(u.externalId ? { externalId: u.externalId } : {}),
    userName: u.username,
    name: { givenName: u.firstName, familyName: u.lastName, formatted: `${u.firstName} ${u.lastName}` },
    displayName: `${u.firstName} ${u.lastName}`,
    emails: [{ value: u.email, type: 'work', primary: true }],
    active: u.status === 'active',
    ...(u.jobTitle ? { title: u.jobTitle } : {}),
    ...(u.language ? { preferredLanguage: u.language } : {}),
    ...(u.personalPhone ? { phoneNumbers: [{ value: u.personalPhone, type: 'other' }] } : {}),
    [ENTERPRISE_USER]: u.department ? { department: u.department } : {},
    meta: {
      resourceType: 'User', created: u.createdAt, lastModified: u.updatedAt,
      location: `${baseUrl}/scim/v2/Users/${u.id}`, version: `W/"${Buffer.from(u.updatedAt).toString('base64url')}"`,
    },
  };
  return r;
}

function getCi(obj: unknown, key: string): unknown {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return undefined;
  const k = Object.keys(obj).find((x) => x.toLowerCase() === key.toLowerCase());
  return k === undefined ? undefined : (obj as Record<string, unknown>)[k];
}

function str(v: unknown, attr: string): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') throw new ScimError(400, 'invalidValue', `${attr} must be a string`);
  return v;
}

function firstValue(list: unknown, attr: string): string | null {
  if (list === undefined || list === null) return null;
  if (!Array.isArray(list)) throw new ScimError(400, 'invalidSyntax', `${attr} must be a list`);
  const items = list.filter((x) => typeof x === 'object' && x !== null) as Record<string, unknown>[];
  const chosen = items.find((x) => getCi(x, 'primary') === true) ?? items.find((x) => getCi(x, 'type') === 'work') ?? items[0];
  return chosen ? str(getCi(chosen, 'value'), `${attr}.value`) : null;
}

export interface ScimInput {
  profile: Record<string, unknown>;
  active: boolean | null;
  externalId: string | null;
}

/**
 * The profile fields a SCIM user body sets. Fields absent from the body are
 * null, as PUT replaces the whole resource (RFC 7644 §3.5.1). Passwords are
 * refused: dialtone's users always choose their own.
 */
export function fromScimUser(body: unknown): ScimInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ScimError(400, 'invalidSyntax', 'the body must be a JSON object');
  const b = body as Record<string, unknown>;
  if (getCi(b, 'password') !== undefined) throw new ScimError(400, 'mutability', 'dialtone never accepts passwords: users choose their own from an emailed link');
  const schemas = getCi(b, 'schemas');
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === CORE_USER.toLowerCase())) {
    throw new ScimError(400, 'invalidSyntax', `schemas must include ${CORE_USER}`);
  }
  const name = getCi(b, 'name');
  const ent = Object.entries(b).find(([k]) => k.toLowerCase() === ENTERPRISE_USER.toLowerCase())?.[1];
  const rawActive = getCi(b, 'active');
  // Some identity providers (Azure AD) send "True"/"False" as strings.
  const active = typeof rawActive === 'string' && /^(true|false)$/i.test(rawActive) ? rawActive.toLowerCase() === 'true' : rawActive;
  if (active !== undefined && active !== null && typeof active !== 'boolean') throw new ScimError(400, 'invalidValue', 'active must be true or false');
  const phone = firstValue(getCi(b, 'phoneNumbers'), 'phoneNumbers');
  return {
    profile: {
      username: str(getCi(b, 'userName'), 'userName'),
      firstName: str(getCi(name, 'givenName'), 'name.givenName'),
      lastName: str(getCi(name, 'familyName'), 'name.familyName'),
      email: firstValue(getCi(b, 'emails'), 'emails'),
      jobTitle: str(getCi(b, 'title'), 'title'),
      department: str(getCi(ent, 'department'), `${ENTERPRISE_USER}:department`),
      personalPhone: phone,
      language: str(getCi(b, 'preferredLanguage'), 'preferredLanguage'),
    },
    active: typeof active === 'boolean' ? active : null,
    externalId: str(getCi(b, 'externalId'), 'externalId'),
  };
}

const SCIM_NAMES: Record<string, string> = {
  username: 'userName', firstname: 'name.givenName', lastname: 'name.familyName', email: 'emails', jobtitle: 'title',
  department: `${ENTERPRISE_USER}:department`, personalphone: 'phoneNumbers', language: 'preferredLanguage',
};

/** Names a dialtone field problem by its SCIM attribute. */
export function scimName(field: string): string {
  return SCIM_NAMES[field.toLowerCase()] ?? field;
}
