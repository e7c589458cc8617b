import { ScimError } from './errors';
import { ENTERPRISE_USER } from './query';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What a dialtone profile holds, in SCIM's names, lower-cased: RFC 7643 attributes compare case-insensitively. */
const TOP = new Set(['schemas', 'id', 'externalid', 'username', 'name', 'displayname', 'emails', 'active', 'title', 'preferredlanguage', 'phonenumbers', 'meta', ENTERPRISE_USER.toLowerCase()]);
const SUBS: Record<string, Set<string>> = {
  name: new Set(['givenname', 'familyname', 'formatted']),
  emails: new Set(['value', 'type', 'primary', 'display']),
  phonenumbers: new Set(['value', 'type', 'primary', 'display']),
  [ENTERPRISE_USER.toLowerCase()]: new Set(['department']),
};
const SINGLE = { emails: 'email', phonenumbers: 'phone number' } as const;

function entry(obj: Obj, key: string): [string, unknown] | undefined {
  return Object.entries(obj).find(([k]) => k.toLowerCase() === key);
}

const unknownAttribute = (path: string) =>
  new ScimError(400, 'invalidPath', `${path} is not an attribute dialtone stores (GET /scim/v2/Schemas lists them); nothing was changed`);

/**
 * A PATCH result that dialtone could only store by dropping part of it is
 * refused instead (RFC 7644 §3.5.2): the identity provider must learn that
 * its change did not happen. Unknown attributes are `invalidPath`, a changed
 * read-only one `mutability`, a second email or phone number `invalidValue`.
 */
export function checkStorable(before: Obj, after: Obj): void {
  for (const [key, value] of Object.entries(after)) {
    const k = key.toLowerCase();
    if (!TOP.has(k)) throw unknownAttribute(key);
    const subs = SUBS[k];
    if (!subs) continue;
    const items = Array.isArray(value) ? value : [value];
    for (const item of items) {
      if (!isObj(item)) continue;
      for (const sub of Object.keys(item)) if (!subs.has(sub.toLowerCase())) throw unknownAttribute(`${key}.${sub}`);
    }
    const single = SINGLE[k as keyof typeof SINGLE];
    if (single && Array.isArray(value) && value.length > 1) {
      throw new ScimError(400, 'invalidValue', `${key}: dialtone keeps one ${single} per user, the request leaves ${value.length}; nothing was changed`);
    }
  }
  const name = entry(after, 'name')?.[1];
  const full = isObj(name) ? `${entry(name, 'givenname')?.[1] ?? ''} ${entry(name, 'familyname')?.[1] ?? ''}` : null;
  const readOnly: [string, unknown, unknown][] = [
    ['displayName', entry(before, 'displayname')?.[1], entry(after, 'displayname')?.[1]],
    ['name.formatted', isObj(entry(before, 'name')?.[1]) ? entry(entry(before, 'name')![1] as Obj, 'formatted')?.[1] : undefined, isObj(name) ? entry(name, 'formatted')?.[1] : undefined],
  ];
  for (const [path, was, now] of readOnly) {
    // Sending the value dialtone derives anyway (givenName familyName) is no change.
    if (now !== undefined && now !== was && now !== full) {
      throw new ScimError(400, 'mutability', `${path} is read-only: dialtone derives it from name.givenName and name.familyName; change those`);
    }
  }
  if (JSON.stringify(entry(after, 'meta')?.[1]) !== JSON.stringify(entry(before, 'meta')?.[1])) throw new ScimError(400, 'mutability', 'meta is read-only');
}
