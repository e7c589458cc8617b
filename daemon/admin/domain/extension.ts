import { Problems } from '../../core/errors';
import { type Address, validateAddress } from './address';
import { bool, dialString, email, isPlainObject, oneOf, text } from './fields';
import { type Key, validateKeys } from './keys';

export const FAX_MODES = ['disabled', 'attachment', 'link_and_attachment', 'link'] as const;
export const RECORDING_MODES = ['off', 'on_demand', 'always'] as const;
export const CALLING_SCOPES = ['internal', 'local', 'national', 'international'] as const;
export const FORWARD_CONDITIONS = ['always', 'busy', 'noAnswer', 'notRegistered', 'internetDown'] as const;
/** Names as SDP and most phone UIs spell them; each vendor template maps them to its own. */
export const CODECS = ['OPUS', 'G722', 'PCMU', 'PCMA', 'G729', 'G726-32', 'iLBC', 'GSM'] as const;

export type FaxMode = (typeof FAX_MODES)[number];
export type RecordingMode = (typeof RECORDING_MODES)[number];
export type CallingScope = (typeof CALLING_SCOPES)[number];
export type ForwardCondition = (typeof FORWARD_CONDITIONS)[number];
export type Codec = (typeof CODECS)[number];

export interface ForwardRule {
  condition: ForwardCondition;
  destination: string;
  enabled: boolean;
  /** Only for noAnswer: how long the phone rings first. */
  afterSeconds: number | null;
}

/**
 * What is stored for an extension. A null means "follow the default": the
 * profile's name and email, the site's address. Defaults are resolved when
 * read, so a reassigned extension follows its new profile with no rewrite.
 */
export interface ExtensionSettings {
  callerId: { name: string | null; number: string | null };
  voicemail: { enabled: boolean; email: string | null };
  /** `machine`: an analog fax machine answers this extension (an ATA port), which then gets fax-friendly media settings. */
  fax: { mode: FaxMode; email: string | null; machine: boolean };
  forwarding: ForwardRule[];
  musicOnHold: string;
  recording: { mode: RecordingMode; announceToUser: boolean; announceToCaller: boolean };
  externalCalling: CallingScope;
  emergencyAddress: Address | null;
  codecs: Codec[];
  onlineAccess: boolean;
  /** The phone's keys for whoever uses this extension; empty: one line key. A device override still wins. */
  keys: Key[];
}

export const DEFAULT_SETTINGS: ExtensionSettings = {
  callerId: { name: null, number: null },
  voicemail: { enabled: true, email: null },
  fax: { mode: 'disabled', email: null, machine: false },
  forwarding: [],
  musicOnHold: 'default',
  recording: { mode: 'off', announceToUser: false, announceToCaller: false },
  externalCalling: 'national',
  emergencyAddress: null,
  codecs: ['G722', 'PCMU', 'PCMA'],
  onlineAccess: true,
  keys: [],
};

export const SETTING_KEYS = Object.keys(DEFAULT_SETTINGS) as (keyof ExtensionSettings)[];

export interface EffectiveSettings extends Omit<ExtensionSettings, 'emergencyAddress'> {
  callerId: { name: string; number: string };
  voicemail: { enabled: boolean; email: string; pinSet: boolean };
  fax: { mode: FaxMode; email: string | null; machine: boolean };
  emergencyAddress: Address | null;
  emergencyAddressSource: 'extension' | 'site' | 'none';
}

export function validateNumber(p: Problems, value: unknown): string | null {
  if (typeof value === 'number') {
    // As a number, 0100 would arrive as 100.
    p.add('number', `must be a JSON string such as "${value}", not a number`);
    return null;
  }
  if (typeof value !== 'string' || !/^[0-9]{2,10}$/.test(value)) {
    p.add('number', 'must be 2 to 10 digits (0-9), such as 1001');
    return null;
  }
  return value;
}

/** The seeds: numeric only, six digits at least. The extension's own number and one repeated digit are refused as guessable. */
export function validatePin(p: Problems, field: string, value: unknown, extensionNumber: string | null): string | null {
  if (typeof value === 'number') {
    // As a number, 012345 would arrive as 12345.
    p.add(field, `must be a JSON string of 6 to 16 digits, such as "${String(value).padStart(6, '0')}", not a number`);
    return null;
  }
  if (typeof value !== 'string' || !/^[0-9]{6,16}$/.test(value)) {
    p.add(field, 'must be 6 to 16 digits (0-9), such as 480135');
    return null;
  }
  if (/^(\d)\1+$/.test(value)) p.add(field, 'must not be one digit repeated');
  else if (extensionNumber !== null && value === extensionNumber) p.add(field, 'must not be the extension number');
  else return value;
  return null;
}

function forwardRules(p: Problems, value: unknown): ForwardRule[] | null {
  if (!Array.isArray(value)) {
    p.add('forwarding', 'must be a list of {condition, destination, enabled?, afterSeconds?}');
    return null;
  }
  const seen = new Set<string>();
  const rules: ForwardRule[] = [];
  value.forEach((raw, i) => {
    const f = `forwarding[${i}]`;
    if (!isPlainObject(raw)) {
      p.add(f, 'must be an object');
      return;
    }
    for (const key of Object.keys(raw)) {
      if (!['condition', 'destination', 'enabled', 'afterSeconds'].includes(key)) p.add(`${f}.${key}`, 'is not a forwarding field');
    }
    const condition = oneOf(p, `${f}.condition`, raw.condition, FORWARD_CONDITIONS);
    const destination = dialString(p, `${f}.destination`, raw.destination);
    const enabled = raw.enabled === undefined ? true : bool(p, `${f}.enabled`, raw.enabled);
    let afterSeconds: number | null = null;
    if (condition === 'noAnswer') {
      const a = raw.afterSeconds ?? 20;
      if (typeof a !== 'number' || !Number.isInteger(a) || a < 5 || a > 120) p.add(`${f}.afterSeconds`, 'must be a whole number of seconds from 5 to 120');
      else afterSeconds = a;
    } else if (raw.afterSeconds !== undefined) {
      p.add(`${f}.afterSeconds`, 'applies only to the noAnswer condition');
    }
    if (condition !== null) {
      if (seen.has(condition)) p.add(`${f}.condition`, `${condition} appears twice`);
      seen.add(condition);
    }
    if (condition && destination && enabled !== null) rules.push({ condition, destination, enabled, afterSeconds });
  });
  return rules;
}

function subObject(p: Problems, field: string, value: unknown, keys: string[]): Record<string, unknown> | null {
  if (!isPlainObject(value)) {
    p.add(field, `must be an object with ${keys.join(', ')}`);
    return null;
  }
  for (const key of Object.keys(value)) if (!keys.includes(key)) p.add(`${field}.${key}`, 'is not a known field');
  return value;
}

export interface SettingsPatch {
  settings: ExtensionSettings;
  /** A new voicemail PIN when the input set one: stored apart, sealed. */
  pin: string | null;
}

/**
 * Applies the settings found in `input` on top of `current`. Keys that are
 * not settings are ignored here (the caller owns number, userId, siteId).
 * `profileEmail` is what a null email resolves to, needed to judge fax rules.
 */
export function applySettings(current: ExtensionSettings, input: Record<string, unknown>, ctx: { number: string | null; profileEmail: string | null }): SettingsPatch {
  const p = new Problems();
  const s: ExtensionSettings = structuredClone(current);
  let pin: string | null = null;

  if ('callerId' in input) {
    const o = subObject(p, 'callerId', input.callerId, ['name', 'number']);
    if (o) {
      if ('name' in o) s.callerId.name = o.name === null ? null : text(p, 'callerId.name', o.name, { required: true, max: 40 });
      if ('number' in o) s.callerId.number = o.number === null ? null : dialString(p, 'callerId.number', o.number);
      if (s.callerId.name && /["<>;]/.test(s.callerId.name)) p.add('callerId.name', 'must not contain " < > or ;');
    }
  }
  if ('voicemail' in input) {
    const o = subObject(p, 'voicemail', input.voicemail, ['enabled', 'pin', 'email']);
    if (o) {
      if ('enabled' in o) s.voicemail.enabled = bool(p, 'voicemail.enabled', o.enabled) ?? s.voicemail.enabled;
      if ('email' in o) s.voicemail.email = o.email === null ? null : email(p, 'voicemail.email', o.email, true);
      if ('pin' in o) pin = validatePin(p, 'voicemail.pin', o.pin, ctx.number);
    }
  }
  if ('fax' in input) {
    const o = subObject(p, 'fax', input.fax, ['mode', 'email', 'machine']);
    if (o) {
      if ('mode' in o) s.fax.mode = oneOf(p, 'fax.mode', o.mode, FAX_MODES) ?? s.fax.mode;
      if ('email' in o) s.fax.email = o.email === null ? null : email(p, 'fax.email', o.email, true);
      if ('machine' in o) s.fax.machine = bool(p, 'fax.machine', o.machine) ?? s.fax.machine;
    }
  }
  if (s.fax.mode !== 'disabled' && !(s.fax.email ?? ctx.profileEmail)) {
    p.add('fax.email', `is required when fax.mode is ${s.fax.mode}`);
  }
  if ('forwarding' in input) s.forwarding = forwardRules(p, input.forwarding) ?? s.forwarding;
  if ('musicOnHold' in input) {
    const v = input.musicOnHold;
    if (typeof v !== 'string' || !/^[A-Za-z0-9_\-]{1,64}$/.test(v)) p.add('musicOnHold', 'must be a music-on-hold class name (letters, digits, _ and -), or "default"');
    else s.musicOnHold = v;
  }
  if ('recording' in input) {
    const o = subObject(p, 'recording', input.recording, ['mode', 'announceToUser', 'announceToCaller']);
    if (o) {
      if ('mode' in o) s.recording.mode = oneOf(p, 'recording.mode', o.mode, RECORDING_MODES) ?? s.recording.mode;
      if ('announceToUser' in o) s.recording.announceToUser = bool(p, 'recording.announceToUser', o.announceToUser) ?? false;
      if ('announceToCaller' in o) s.recording.announceToCaller = bool(p, 'recording.announceToCaller', o.announceToCaller) ?? false;
    }
  }
  if ('externalCalling' in input) s.externalCalling = oneOf(p, 'externalCalling', input.externalCalling, CALLING_SCOPES) ?? s.externalCalling;
  if ('emergencyAddress' in input) {
    s.emergencyAddress = input.emergencyAddress === null ? null : validateAddress(p, 'emergencyAddress', input.emergencyAddress);
  }
  if ('codecs' in input) {
    const v = input.codecs;
    if (!Array.isArray(v) || v.length === 0) {
      p.add('codecs', `must be a non-empty ordered list drawn from ${CODECS.join(', ')}`);
    } else {
      const seen = new Set<string>();
      v.forEach((c, i) => {
        if (typeof c !== 'string' || !(CODECS as readonly string[]).includes(c)) p.add(`codecs[${i}]`, `must be one of ${CODECS.join(', ')}`);
        else if (seen.has(c)) p.add(`codecs[${i}]`, `${c} is listed twice`);
        seen.add(String(c));
      });
      s.codecs = v as Codec[];
    }
  }
  if ('onlineAccess' in input) s.onlineAccess = bool(p, 'onlineAccess', input.onlineAccess) ?? s.onlineAccess;
  if ('keys' in input) s.keys = validateKeys(p, 'keys', input.keys) ?? s.keys;

  p.throwIfAny();
  return { settings: s, pin };
}

export interface Owner {
  firstName: string;
  lastName: string;
  email: string;
}

/** Resolves the defaults the seeds describe: caller ID from the profile, emails from the profile, the emergency address from the site. */
export function effectiveSettings(stored: ExtensionSettings, ctx: { number: string; owner: Owner; siteAddress: Address | null; pinSet: boolean }): EffectiveSettings {
  const name = `${ctx.owner.firstName} ${ctx.owner.lastName}`.trim().slice(0, 40);
  const emergencyAddress = stored.emergencyAddress ?? ctx.siteAddress;
  return {
    ...stored,
    callerId: { name: stored.callerId.name ?? name, number: stored.callerId.number ?? ctx.number },
    voicemail: { enabled: stored.voicemail.enabled, email: stored.voicemail.email ?? ctx.owner.email, pinSet: ctx.pinSet },
    fax: { mode: stored.fax.mode, email: stored.fax.mode === 'disabled' ? stored.fax.email : stored.fax.email ?? ctx.owner.email, machine: stored.fax.machine },
    emergencyAddress,
    emergencyAddressSource: stored.emergencyAddress ? 'extension' : ctx.siteAddress ? 'site' : 'none',
  };
}

/**
 * When a profile is disabled its extensions go to the primary administrator,
 * and voicemail and fax mail must follow them: explicit addresses that
 * belonged to the departing user are cleared so the defaults point at the
 * administrator. Caller ID overrides are the extension's public identity and stay.
 */
export function settingsForReassignment(stored: ExtensionSettings, departingEmail: string): ExtensionSettings {
  const s = structuredClone(stored);
  const same = (e: string | null) => e !== null && e.toLowerCase() === departingEmail.toLowerCase();
  if (same(s.voicemail.email)) s.voicemail.email = null;
  if (same(s.fax.email)) s.fax.email = null;
  return s;
}
