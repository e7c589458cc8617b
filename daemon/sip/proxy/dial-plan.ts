import type { CallingScope } from '../../admin/domain/extension';

/**
 * What a phone dialed, by the calling permission it needs. Emergency calls
 * need none; the rest are ordered internal < local < national < international,
 * as the extension's `externalCalling` setting is.
 */
export type CallClass = 'emergency' | 'internal' | 'local' | 'national' | 'international';

/** How one country (or a group sharing a numbering plan) is dialed: data, so a plan is added as a row. */
export interface CountryPlan {
  name: string;
  /** ISO 3166-1 alpha-2 codes of the countries dialing this way (the site's address picks the plan). */
  countries: readonly string[];
  /** E.164 country code. */
  countryCode: string;
  /** Dialed before a country code to call abroad. */
  internationalPrefix: string;
  /** Dialed before a national number (NANP's 1, most of Europe's 0). */
  trunkPrefix: string;
  /** Lengths of a national significant number (what follows the country code). */
  nationalLengths: readonly [number, number];
  /** Lengths of a number dialed without its area code, or null where every call is dialed in full. */
  localLengths: readonly [number, number] | null;
  /**
   * Length of the area code at the start of a national number, where a full
   * national number may be dialed without the trunk prefix (NANP's 10 digits):
   * such a number in the site's own area code is local. Null elsewhere.
   */
  areaCodeLength: number | null;
  /** Short service numbers (NANP's N11 such as 411), dialed as local calls. */
  serviceCodes: RegExp | null;
}

export const NANP: CountryPlan = {
  name: 'North American Numbering Plan',
  countries: ['US', 'CA', 'PR', 'VI', 'GU', 'AS', 'MP', 'BS', 'BB', 'AI', 'AG', 'VG', 'BM', 'KY', 'GD', 'TC', 'MS', 'SX', 'LC', 'DM', 'VC', 'DO', 'TT', 'KN', 'JM'],
  countryCode: '1', internationalPrefix: '011', trunkPrefix: '1',
  nationalLengths: [10, 10], localLengths: [7, 7], areaCodeLength: 3, serviceCodes: /^[2-8]11$/,
};

/** Every plan dialtone knows; a site in a country none lists dials as NANP. */
export const COUNTRY_PLANS: readonly CountryPlan[] = [
  NANP,
  {
    name: 'United Kingdom', countries: ['GB', 'GG', 'JE', 'IM'], countryCode: '44', internationalPrefix: '00', trunkPrefix: '0',
    nationalLengths: [9, 10], localLengths: [6, 8], areaCodeLength: null, serviceCodes: /^1(0[15]|11|19)$/,
  },
  {
    name: 'France', countries: ['FR', 'MC'], countryCode: '33', internationalPrefix: '00', trunkPrefix: '0',
    nationalLengths: [9, 9], localLengths: null, areaCodeLength: null, serviceCodes: /^11[0-9]$/,
  },
];

export function planFor(country: string | null | undefined): CountryPlan {
  return COUNTRY_PLANS.find((p) => country && p.countries.includes(country.toUpperCase())) ?? NANP;
}

export interface DialContext {
  plan: CountryPlan;
  /** The caller's own area code, when known (see areaCodeOf): a full number in it is a local call. */
  areaCode: string | null;
  /** DIALTONE_EMERGENCY_NUMBERS. */
  emergencyNumbers: readonly string[];
  /** True when `user` is another extension of the caller's tenant (by number or SIP username). */
  isExtension: (user: string) => boolean;
}

export type Classification =
  | { class: CallClass; number: string }
  | { class: null; status: 404 | 484; reason: string };

// E.164 allows 15 digits after the country code's +; a dialed string a little longer still fits (prefixes).
const MAX_DIALED = 32;
const VISUAL_SEPARATORS = /[-.() ]/g;

/** The dialed string as a phone sends it in the Request-URI user part, decoded, without visual separators or telephone-subscriber parameters. */
function dialedDigits(user: string): string | null {
  if (user.length > 256) return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(user.split(';')[0]!);
  } catch {
    return null;
  }
  const cleaned = decoded.replace(VISUAL_SEPARATORS, '');
  return cleaned.length <= MAX_DIALED && /^\+?[0-9*#]+$/.test(cleaned) ? cleaned : null;
}

const within = (n: number, [min, max]: readonly [number, number]) => n >= min && n <= max;

/** An E.164 number (digits after the +): national when it is in the plan's country, international otherwise. */
function e164(digits: string, plan: CountryPlan): CallClass | null {
  if (!/^[1-9][0-9]{6,14}$/.test(digits)) return null;
  if (digits.startsWith(plan.countryCode) && within(digits.length - plan.countryCode.length, plan.nationalLengths)) return 'national';
  return 'international';
}

/**
 * Classifies the Request-URI user part a phone dialed. Emergency numbers
 * come first (an extension may not shadow one), then the tenant's own
 * extensions and `*` feature codes, then the country plan.
 */
export function classifyDialed(user: string, ctx: DialContext): Classification {
  if (user === '') return { class: null, status: 484, reason: 'Address Incomplete' };
  const dialed = dialedDigits(user);
  // Phones that send on # leave it at the end; an emergency call must not fail on it.
  if (dialed !== null && ctx.emergencyNumbers.includes(dialed.replace(/#$/, ''))) return { class: 'emergency', number: dialed.replace(/#$/, '') };
  if (ctx.isExtension(user) || (dialed !== null && ctx.isExtension(dialed))) return { class: 'internal', number: dialed ?? user };
  if (dialed === null) return { class: null, status: 404, reason: 'Not a Dialable Number' };
  if (dialed.startsWith('*')) return { class: 'internal', number: dialed };
  if (!/^\+?[0-9]+$/.test(dialed)) return { class: null, status: 404, reason: 'Not a Dialable Number' };
  const { plan } = ctx;
  const found = (c: CallClass | null): Classification => (c ? { class: c, number: dialed } : { class: null, status: 404, reason: 'Not a Dialable Number' });
  if (dialed.startsWith('+')) return found(e164(dialed.slice(1), plan));
  if (dialed.startsWith(plan.internationalPrefix)) return found(e164(dialed.slice(plan.internationalPrefix.length), plan));
  if (plan.serviceCodes?.test(dialed)) return found('local');
  if (dialed.startsWith(plan.trunkPrefix) && within(dialed.length - plan.trunkPrefix.length, plan.nationalLengths)) return found('national');
  if (plan.areaCodeLength !== null && within(dialed.length, plan.nationalLengths) && /^[2-9]/.test(dialed)) {
    return found(ctx.areaCode !== null && dialed.startsWith(ctx.areaCode) ? 'local' : 'national');
  }
  if (plan.localLengths && within(dialed.length, plan.localLengths) && /^[2-9]/.test(dialed)) return found('local');
  return found(null);
}

const RANK: Record<CallingScope, number> = { internal: 0, local: 1, national: 2, international: 3 };

export type CallDecision =
  | { allow: true; class: CallClass; number: string }
  | { allow: false; status: 403 | 404 | 484; reason: string };

/**
 * Whether an extension with the calling permission `scope` may place the
 * call; a refusal carries the status and the reason phrase to answer with.
 */
export function decideCall(user: string, scope: CallingScope, ctx: DialContext): CallDecision {
  const c = classifyDialed(user, ctx);
  if (c.class === null) return { allow: false, status: c.status, reason: c.reason };
  if (c.class === 'emergency' || c.class === 'internal' || RANK[c.class] <= RANK[scope]) return { allow: true, class: c.class, number: c.number };
  const what = c.class[0]!.toUpperCase() + c.class.slice(1);
  return { allow: false, status: 403, reason: `${what} Calls Not Allowed for This Extension` };
}

/**
 * The area code in a caller ID number written in full (`+13125550100`,
 * `13125550100`, `3125550100`), for plans that have one; null otherwise.
 */
export function areaCodeOf(number: string | null | undefined, plan: CountryPlan): string | null {
  if (!number || plan.areaCodeLength === null) return null;
  const digits = number.replace(VISUAL_SEPARATORS, '');
  let national: string | null = null;
  if (digits.startsWith(`+${plan.countryCode}`)) national = digits.slice(1 + plan.countryCode.length);
  else if (digits.startsWith(plan.trunkPrefix) && within(digits.length - plan.trunkPrefix.length, plan.nationalLengths)) national = digits.slice(plan.trunkPrefix.length);
  else national = digits;
  return /^[2-9][0-9]*$/.test(national) && within(national.length, plan.nationalLengths) ? national.slice(0, plan.areaCodeLength) : null;
}
