import { type Problems, ValidationError } from '../../core/errors';

/** Small checks shared by every domain rule; each records a problem instead of throwing, so all are reported at once. */

const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

export function text(p: Problems, field: string, value: unknown, opts: { required?: boolean; max: number }): string | null {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) {
    if (opts.required) p.add(field, 'is required');
    return null;
  }
  if (typeof value !== 'string') {
    p.add(field, 'must be a string');
    return null;
  }
  const v = value.trim();
  if (v.length > opts.max) p.add(field, `must be at most ${opts.max} characters`);
  else if (CONTROL.test(v)) p.add(field, 'must not contain control characters');
  return v;
}

// Deliberately simple: one @, a dot in the domain, no spaces. Deliverability is proven by the emailed link.
const EMAIL = /^[^\s@<>()\[\],;:"]+@[^\s@<>()\[\],;:"]+\.[^\s@<>()\[\],;:".]{2,}$/;

export function email(p: Problems, field: string, value: unknown, required: boolean): string | null {
  const v = text(p, field, value, { required, max: 254 });
  if (v !== null && !EMAIL.test(v)) {
    p.add(field, 'must be an email address such as name@example.com');
    return null;
  }
  return v;
}

export function oneOf<T extends string>(p: Problems, field: string, value: unknown, allowed: readonly T[]): T | null {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    p.add(field, `must be one of ${allowed.join(', ')}`);
    return null;
  }
  return value as T;
}

export function bool(p: Problems, field: string, value: unknown): boolean | null {
  if (typeof value !== 'boolean') {
    p.add(field, 'must be true or false');
    return null;
  }
  return value;
}

// E.164 or a dial string of digits with an optional leading +, *, # as PBXs accept.
const DIAL = /^\+?[0-9*#]{1,32}$/;

export function dialString(p: Problems, field: string, value: unknown): string | null {
  if (typeof value !== 'string' || !DIAL.test(value)) {
    p.add(field, 'must be a phone number or extension: digits, optionally starting with +');
    return null;
  }
  return value;
}

/** IANA zone names as Intl knows them; an unknown zone is a typo an operator wants to hear about. */
export function timezone(p: Problems, field: string, value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 64) {
    p.add(field, 'must be an IANA time zone such as Europe/Paris');
    return null;
  }
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return value;
  } catch {
    p.add(field, `unknown time zone ${JSON.stringify(value)}; use an IANA name such as America/New_York`);
    return null;
  }
}

// BCP 47 as phones and prompts use it: en, en-US, fr-CA, pt-BR.
export function language(p: Problems, field: string, value: unknown): string | null {
  if (typeof value !== 'string' || !/^[a-z]{2,3}(-[A-Z]{2})?$/.test(value)) {
    p.add(field, 'must be a language tag such as en or en-US');
    return null;
  }
  return value;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every body the admin rules accept is a JSON object; anything else stops before field checks. */
export function requireObject(input: unknown): Record<string, unknown> {
  if (!isPlainObject(input)) throw new ValidationError([{ field: 'body', reason: 'must be a JSON object' }]);
  return input;
}
