import fs from 'node:fs';
import path from 'node:path';
import { Eta } from 'eta';
import { macUpper, type Mac } from '../mac';
import type { Directory } from '../model/directory';
import type { DeviceSettings, Endpoint, Key, Line } from '../model/settings';
import { vendorTime } from '../model/timezone';
import { exampleName, findModel } from '../vendors/match';
import type { FileFormat, FileRule, VendorFamily } from '../vendors/types';
import { escapeLine, escapeXml } from './escape';

/** What every template sees as `it`. Common files get `s: null` and never a secret. */
export interface TemplateData {
  s: DeviceSettings | null;
  line: Line | null;
  /** Where the phone sends its SIP: the outbound proxy when one is set, else dialtone's registrar. */
  proxy: Endpoint | null;
  file: { name: string; mac: string | null; macUpper: string | null; model: string | null; tag: string | null };
  family: { id: string; name: string };
  /** Where this family's files are fetched from: the provisioning URL with the family's sub-path. */
  baseUrl: string;
  /** The zone and its daylight-saving rule in the family's own form (model/timezone.ts); null in common files. */
  time: ReturnType<typeof vendorTime> | null;
  /** The keys the family offers, with its code for each: the phone's own, then per expansion module (modules[0] is module 1). */
  keys: { phone: RenderKey[]; modules: RenderKey[][] };
  codecs: string[];
  /**
   * Where the phone fetches the tenant's corporate directory, for its configuration: `url`, the same with the
   * device's provisioning credentials in it (`authUrl`, for vendors that take them only there), and `folder`,
   * the URL of the folder without the scheme (Grandstream appends the file name itself). Null when it is off.
   */
  directory: { title: string; url: string; authUrl: string; folder: string } | null;
  /** The directory itself, in a directory file; null in every other file. */
  dir: Directory | null;
  /** An ATA's analog ports (`it.s.lines` holds one line per assigned port, `index` its port number); null for a phone. */
  ata: { ports: number; layout: 'account' | 'table' } | null;
}

export interface RenderKey extends Key {
  code: string;
  suffix: string;
}

/** Keys of types the family lacks, or on modules it cannot address, are left out rather than sent as something else. */
function renderKeys(family: VendorFamily, keys: Key[]): TemplateData['keys'] {
  const out: TemplateData['keys'] = { phone: [], modules: Array.from({ length: family.keys.modules }, () => []) };
  for (const k of [...keys].sort((a, b) => a.module - b.module || a.index - b.index)) {
    const c = family.keys.types[k.type];
    if (!c) continue;
    const target = k.module === 0 ? out.phone : out.modules[k.module - 1];
    target?.push({ ...k, code: c.code, suffix: c.suffix ?? '' });
  }
  return out;
}

/** The folder of templates, found from here both in the source tree and in the compiled dist/. */
export function templatesRoot(start = __dirname): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'provisioning-templates');
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error('provisioning-templates folder not found');
  }
}

function ataOf(family: VendorFamily, settings: DeviceSettings | null): TemplateData['ata'] {
  const model = settings?.device.model ? findModel(settings.device.model) : null;
  if (!model || model.family !== family || !model.model.ports) return null;
  return { ports: model.model.ports, layout: model.model.portLayout ?? 'account' };
}

function directoryLink(family: VendorFamily, settings: DeviceSettings | null, baseUrl: string, ata: TemplateData['ata']): TemplateData['directory'] {
  const rule = family.files.find((r) => r.directory);
  // An ATA has no screen to show a directory on.
  if (!settings?.directory || !rule || ata) return null;
  const url = `${baseUrl}/${exampleName(rule, settings.device.mac as Mac, null)}`;
  const auth = new URL(url);
  auth.username = encodeURIComponent(settings.provisioning.username);
  auth.password = encodeURIComponent(settings.provisioning.password);
  const folder = url.slice(0, url.lastIndexOf('/')).replace(/^[a-z]+:\/\//i, '');
  return { title: settings.directory.title, url, authUrl: auth.href, folder };
}

export function templateData(
  family: VendorFamily,
  file: { name: string; mac: Mac | null; model: string | null; tag: string | null },
  settings: DeviceSettings | null,
  provisioningUrl: string,
  year = new Date().getUTCFullYear(),
  dir: Directory | null = null,
): TemplateData {
  const baseUrl = `${provisioningUrl}/${family.subPaths[0]}`;
  const ata = ataOf(family, settings);
  return {
    s: settings,
    line: settings?.lines[0] ?? null,
    proxy: settings ? (settings.lines[0]!.outboundProxy ?? settings.lines[0]!.registrar) : null,
    file: { ...file, macUpper: file.mac ? macUpper(file.mac) : null },
    family: { id: family.id, name: family.name },
    baseUrl,
    time: settings ? vendorTime(settings.timezone, family.timezone, year) : null,
    keys: renderKeys(family, settings?.keys ?? []),
    codecs: settings ? settings.codecs.map((c) => family.codecNames[c]).filter((c): c is string => c !== undefined) : [],
    directory: directoryLink(family, settings, baseUrl, ata),
    dir,
    ata,
  };
}

/** eta, escaping every interpolation by default: XML escaping for XML files, line-break removal for line grammars. */
export class TemplateRenderer {
  private readonly engines: Record<FileFormat, Eta>;

  constructor(root = templatesRoot()) {
    const make = (escapeFunction: (v: unknown) => string) => new Eta({ views: root, autoEscape: true, autoTrim: false, escapeFunction, cache: true, defaultExtension: '.eta' });
    this.engines = { xml: make(escapeXml), lines: make(escapeLine) };
  }

  /** Forgets the compiled templates, so an edited file is read again on its next use. */
  reload(): void {
    for (const e of Object.values(this.engines)) e.templatesSync.reset();
  }

  render(family: VendorFamily, rule: FileRule, data: TemplateData): string {
    return this.engines[rule.format].render(`./${family.id}/${rule.template}.eta`, data);
  }
}
