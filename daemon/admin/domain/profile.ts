import { Problems } from '../../core/errors';
import { type Address, validateAddress } from './address';
import { email, requireObject, language, text } from './fields';

export const USERNAME_MAX = 30;

export type ProfileStatus = 'active' | 'disabled';

export interface ProfileFields {
  firstName: string;
  lastName: string;
  email: string;
  username: string;
  jobTitle: string | null;
  department: string | null;
  address: Address | null;
  personalPhone: string | null;
  language: string | null;
  siteId: string | null;
  /** Listed in the tenant's corporate directory on its phones; false keeps the profile out of it. */
  directory: boolean;
}

const OPTIONAL_KEYS = ['jobTitle', 'department', 'address', 'personalPhone', 'language', 'siteId', 'directory'] as const;
const KNOWN_KEYS: readonly string[] = ['firstName', 'lastName', 'email', 'username', 'tenantId', ...OPTIONAL_KEYS];

/** Unknown fields are refused rather than dropped, so a typo or a forbidden field never looks accepted. */
function rejectUnknown(p: Problems, input: Record<string, unknown>): void {
  for (const key of Object.keys(input)) {
    if (key === 'password' || key === 'passwordHash') {
      p.add(key, 'administrators cannot set passwords: users choose their own through the emailed link');
    } else if (!KNOWN_KEYS.includes(key)) {
      p.add(key, 'is not a profile field');
    }
  }
}

/** Uniqueness is case-insensitive across every tenant, so the index holds this form. */
export function usernameKey(username: string): string {
  return username.normalize('NFC').toLowerCase();
}

function checkUsername(p: Problems, value: string | null, fromEmail: boolean): void {
  if (value === null) return;
  if (value.length > USERNAME_MAX) {
    p.add('username', fromEmail
      ? `defaults to the email, which is ${value.length} characters; usernames are at most ${USERNAME_MAX}, so choose a username`
      : `must be at most ${USERNAME_MAX} characters (got ${value.length})`);
    return;
  }
  // Spaces are allowed: the seeds name a place profile "Front Lobby".
  if (!/^[\p{L}\p{N} ._@+\-']+$/u.test(value)) {
    p.add('username', 'may hold letters, digits, spaces and . _ @ + - \' only');
  }
}

function optionalFields(p: Problems, input: Record<string, unknown>): Partial<ProfileFields> {
  const out: Partial<ProfileFields> = {};
  if ('jobTitle' in input) out.jobTitle = text(p, 'jobTitle', input.jobTitle, { max: 100 });
  if ('department' in input) out.department = text(p, 'department', input.department, { max: 100 });
  if ('personalPhone' in input) {
    const v = text(p, 'personalPhone', input.personalPhone, { max: 32 });
    if (v !== null && !/^\+?[0-9 ().\-]{3,32}$/.test(v)) p.add('personalPhone', 'must be a phone number');
    out.personalPhone = v;
  }
  if ('language' in input) out.language = input.language === null ? null : language(p, 'language', input.language);
  if ('address' in input) out.address = input.address === null ? null : validateAddress(p, 'address', input.address);
  if ('directory' in input) {
    if (typeof input.directory !== 'boolean') p.add('directory', 'must be true (listed in the corporate directory) or false');
    else out.directory = input.directory;
  }
  if ('siteId' in input) {
    const v = input.siteId;
    if (v !== null && typeof v !== 'string') p.add('siteId', 'must be a site id or null');
    out.siteId = (v as string | null) ?? null;
  }
  return out;
}

/** Validates a new profile; the username defaults to the email, as the seeds require. */
export function validateNewProfile(input: unknown): ProfileFields {
  const body = requireObject(input);
  const p = new Problems();
  rejectUnknown(p, body);
  const firstName = text(p, 'firstName', body.firstName, { required: true, max: 100 });
  const lastName = text(p, 'lastName', body.lastName, { required: true, max: 100 });
  const mail = email(p, 'email', body.email, true);
  const chosen = text(p, 'username', body.username, { max: 254 });
  const username = chosen ?? mail;
  checkUsername(p, username, chosen === null);
  const optional = optionalFields(p, body);
  p.throwIfAny();
  const fields: ProfileFields = {
    firstName: firstName!, lastName: lastName!, email: mail!, username: username!,
    jobTitle: null, department: null, address: null, personalPhone: null, language: null, siteId: null, directory: true,
  };
  for (const key of OPTIONAL_KEYS) if (key in optional) (fields as unknown as Record<string, unknown>)[key] = optional[key];
  return fields;
}

/** Validates a partial update; mandatory fields may change but never be emptied. */
export function validateProfilePatch(input: unknown): Partial<ProfileFields> {
  const body = requireObject(input);
  const p = new Problems();
  rejectUnknown(p, body);
  const out: Partial<ProfileFields> = optionalFields(p, body);
  if ('firstName' in body) out.firstName = text(p, 'firstName', body.firstName, { required: true, max: 100 }) ?? '';
  if ('lastName' in body) out.lastName = text(p, 'lastName', body.lastName, { required: true, max: 100 }) ?? '';
  if ('email' in body) out.email = email(p, 'email', body.email, true) ?? '';
  if ('username' in body) {
    const u = text(p, 'username', body.username, { required: true, max: 254 });
    checkUsername(p, u, false);
    if (u !== null) out.username = u;
  }
  p.throwIfAny();
  return out;
}

export function displayName(profile: { firstName: string; lastName: string }): string {
  return `${profile.firstName} ${profile.lastName}`.trim();
}
