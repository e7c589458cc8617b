import { type KnownModel, findModel } from '../provisioning/vendors/match';
import type { Mac } from '../provisioning/mac';

/** What an image is served as: characters every phone and the provisioning name check accept. */
const SERVED_NAME = /^[A-Za-z0-9][A-Za-z0-9._+~-]{0,127}$/;
const VERSION = /^[0-9A-Za-z][0-9A-Za-z._+~-]{0,63}$/;
// Yealink ships names such as T46S(T48S,T42S)-66.86.0.15.rom: such characters become `_` rather than being refused.
const ODD = /[^A-Za-z0-9._+~-]/g;

/** `T46S(T48S)-66.86.0.15.rom` as it will be served (`T46S_T48S_-66.86.0.15.rom`), or why it cannot be an image's name. */
export function servedImageName(raw: string): { name: string } | { reason: string } {
  if (raw.length === 0) return { reason: 'is empty' };
  if (raw.length > 128) return { reason: `must be at most 128 characters (got ${raw.length})` };
  if (/[/\\]/.test(raw)) return { reason: 'must be a bare file name, without / or \\' };
  if ([...raw].some((c) => c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127)) return { reason: 'must not hold control characters' };
  const name = raw.replace(ODD, '_');
  if (!SERVED_NAME.test(name)) return { reason: 'must start with a letter or digit' };
  return { name };
}

export function versionProblem(version: string): string | null {
  return VERSION.test(version) ? null : 'must be 1 to 64 letters, digits and . _ + ~ - , starting with a letter or digit';
}

// Dotted versions (Yealink 66.86.0.15, Snom 10.1.33.33, Fanvil 2.4.0) first; Cisco writes 11-3-1 and 7-5-5 in its names and 11.3.1 in its User-Agent.
const DOTTED = /(?<![\d.])\d+(?:\.\d+){2,}/;
const DASHED = /(?<!\d)(?<!\d-)\d+(?:-\d+){2,}(?!\d)/;
/** Families whose image names carry the version with dashes; others (Polycom's part numbers 3111-48500-001) do not. */
const DASHED_VERSIONS = new Set(['cisco-spa', 'cisco-mpp']);

/** The version an image's file name carries, written as the phone's User-Agent reports it; null when it carries none. */
export function versionFromName(familyId: string, name: string): string | null {
  const dotted = DOTTED.exec(name);
  if (dotted) return dotted[0];
  if (!DASHED_VERSIONS.has(familyId)) return null;
  const dashed = DASHED.exec(name);
  return dashed ? dashed[0].replace(/-/g, '.') : null;
}

/**
 * Known models a file name names (`T46S(T48S,T42S)-…` names three). An image
 * uploaded for a model its name does not mention, while it names others, is
 * most likely for another phone: flashing it could brick every phone of the model.
 */
export function modelsNamedIn(name: string): KnownModel[] {
  const found = new Map<string, KnownModel>();
  for (const token of name.split(/[^A-Za-z0-9]+/)) {
    if (!/[A-Za-z]/.test(token) && token.length < 4) continue;
    const m = findModel(token);
    if (m) found.set(m.model.name, m);
  }
  return [...found.values()];
}

/** The name a device fetches an image by, under the provisioning root: its own MAC, so the fetch is checked against its credentials. */
export function imagePath(mac: Mac, version: string, fileName: string): string {
  return `firmware/${mac}/${version}/${fileName}`;
}

const IMAGE_PATH = /^firmware\/(?<mac>[0-9a-f]{12})\/(?<version>[^/]+)\/(?<file>[^/]+)$/i;

/** The parts of an image path; null for any other name (the firmware folder's own files included). */
export function parseImagePath(name: string): { mac: string; version: string; fileName: string } | null {
  const m = IMAGE_PATH.exec(name);
  return m ? { mac: m.groups!.mac!.toLowerCase(), version: m.groups!.version!, fileName: m.groups!.file! } : null;
}
