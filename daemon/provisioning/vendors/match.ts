import { type Mac, parseMac } from '../mac';
import { FAMILIES } from './families';
import type { FileRule, ModelSpec, VendorFamily } from './types';

const key = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]/g, '');

export interface KnownModel {
  family: VendorFamily;
  model: ModelSpec;
}

const MODELS = new Map<string, KnownModel>();
for (const family of FAMILIES) {
  for (const model of family.models) {
    for (const name of [model.name, ...(model.aliases ?? [])]) MODELS.set(key(name), { family, model });
  }
}

/** `VVX 400`, `vvx400`, `VVX_400` and `T46S` all find their model; null when no family has it. */
export function findModel(name: string): KnownModel | null {
  return MODELS.get(key(name)) ?? null;
}

export function knownModelNames(): string[] {
  return FAMILIES.flatMap((f) => f.models.map((m) => m.name));
}

export interface UserAgentFacts {
  family: VendorFamily;
  model: KnownModel | null;
  mac: Mac | null;
  /** The firmware version the phone reports, as its vendor writes it. */
  version: string | null;
}

export function parseUserAgent(ua: string | undefined): UserAgentFacts | null {
  if (!ua) return null;
  const text = ua.slice(0, 512);
  for (const family of FAMILIES) {
    const m = family.userAgent.exec(text);
    if (!m) continue;
    const model = m.groups?.model ? findModel(m.groups.model) : null;
    return { family, model: model && model.family === family ? model : null, mac: m.groups?.mac ? parseMac(m.groups.mac) : null, version: m.groups?.version ?? null };
  }
  return null;
}

export interface PathMatch {
  family: VendorFamily;
  rule: FileRule;
  mac: Mac | null;
  model: string | null;
  tag: string | null;
  /** The request named one of the family's sub-paths. */
  viaSubPath: boolean;
}

/** Every family rule the path could be: several when vendors share a name such as `<mac>.cfg`. */
export function matchPath(path: string): PathMatch[] {
  const out: PathMatch[] = [];
  const lower = path.toLowerCase();
  for (const family of FAMILIES) {
    const sub = family.subPaths.find((s) => lower.startsWith(`${s}/`));
    const rest = sub ? path.slice(sub.length + 1) : path;
    for (const rule of family.files) {
      const m = rule.pattern.exec(rest);
      if (!m) continue;
      const mac = m.groups?.mac ? parseMac(m.groups.mac) : null;
      if (m.groups?.mac && !mac) continue;
      out.push({ family, rule, mac, model: m.groups?.model ?? null, tag: m.groups?.tag ?? null, viaSubPath: sub !== undefined });
      break;
    }
  }
  return out;
}

export function isIgnoredName(path: string): boolean {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return FAMILIES.some((f) => f.ignored.some((r) => r.test(base)));
}

export function familyByOui(mac: Mac): VendorFamily | null {
  const prefix = mac.slice(0, 6);
  return FAMILIES.find((f) => f.ouis.includes(prefix)) ?? null;
}

/**
 * Settles which family a request is for, strongest evidence first: the
 * vendor sub-path in the URL, the User-Agent, the model the administrator
 * entered, the MAC's manufacturer prefix. Null when still ambiguous.
 */
export function chooseMatch(candidates: PathMatch[], evidence: { userAgent: UserAgentFacts | null; deviceVendor: string | null }): PathMatch | null {
  if (candidates.length === 0) return null;
  const pick = (pred: (c: PathMatch) => boolean) => {
    const hits = candidates.filter(pred);
    return hits.length === 1 ? hits[0]! : null;
  };
  const bySub = pick((c) => c.viaSubPath);
  if (bySub) return bySub;
  const scoped = candidates.some((c) => c.viaSubPath) ? candidates.filter((c) => c.viaSubPath) : candidates;
  const within = (pred: (c: PathMatch) => boolean) => {
    const hits = scoped.filter(pred);
    return hits.length === 1 ? hits[0]! : null;
  };
  if (evidence.userAgent) {
    const hit = within((c) => c.family === evidence.userAgent!.family);
    if (hit) return hit;
  }
  if (evidence.deviceVendor) {
    const hit = within((c) => c.family.id === evidence.deviceVendor);
    if (hit) return hit;
  }
  const mac = scoped.find((c) => c.mac)?.mac;
  if (mac) {
    const oui = familyByOui(mac);
    const hit = oui ? within((c) => c.family === oui) : null;
    if (hit) return hit;
  }
  return scoped.length === 1 ? scoped[0]! : null;
}

/** A rule's example name for one device; null when the device lacks what the name needs (a model, or its tag). */
export function exampleName(rule: FileRule, mac: Mac, model: ModelSpec | null): string | null {
  if (rule.example.includes('{model}') && !model) return null;
  if (rule.example.includes('{tag}') && !model?.tag) return null;
  return rule.example
    .replace('{mac}', mac)
    .replace('{MAC}', mac.toUpperCase())
    .replace('{model}', model?.name ?? '')
    .replace('{tag}', model?.tag ?? '');
}
