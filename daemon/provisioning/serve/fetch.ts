import type { Knex } from 'knex';
import type { Logger } from '../../core/log';
import { CacheTrust } from '../../core/cache-trust';
import { now } from '../../core/ids';
import type { SecretBox } from '../../crypto/secret-box';
import { isUniqueViolation } from '../../storage/errors';
import { type RenderCache, type RenderedFile, renderedFile } from '../cache';
import { directoryDependency, loadDirectory } from '../directory-source';
import { recordDeviceEvent } from '../events';
import { type Mac, parseMac } from '../mac';
import { parseImagePath } from '../../firmware/image-name';
import type { ImageStore } from '../../firmware/image-store';
import type { VendorFamily } from '../vendors/types';
import type { ServerDefaults } from '../model/build';
import { loadDeviceSettings } from '../settings-source';
import { type Device, deviceByMac, deviceFromRow, newDeviceRow } from '../store/devices';
import { type TemplateRenderer, templateData } from '../templates/render';
import { type PathMatch, type UserAgentFacts, chooseMatch, findModel, isIgnoredName, matchPath, parseUserAgent } from '../vendors/match';
import { type DigestAuth, type DigestSecret, digestSecret } from './digest';
import { type StaticFile, findStatic } from './firmware';
import type { FailureLimiter } from './limiter';
import type { FetchMetrics } from './fetch-metrics';
import { refuseName, stripOneSlash } from './names';
import type { TimelineWriter } from './timeline-writer';

export type Transport = 'tftp' | 'http' | 'https';

export interface FetchRequest {
  /** The requested name, relative to the provisioning root (no /prov/ prefix). */
  name: string;
  transport: Transport;
  source: string;
  userAgent?: string | undefined;
  authorization?: string | undefined;
  method?: string;
}

export type FetchResult =
  | { status: 'ok'; file: RenderedFile }
  | { status: 'static'; file: StaticFile }
  | { status: 'unauthorized'; challenge: string[] }
  | { status: 'not_found' | 'forbidden' | 'rate_limited'; reason: string };

export interface FetchDeps {
  knex: Knex;
  secrets: SecretBox;
  log: Logger;
  server: ServerDefaults;
  firmwareDir: string;
  /** Uploaded firmware images, served to their devices under firmware/<mac>/<version>/<file>. */
  images: ImageStore;
  renderer: TemplateRenderer;
  cache: RenderCache;
  /**
   * Failures per source and name (an unknown name asked for again and again), per source and MAC (wrong
   * credentials) and new MACs per source: a phone's mistakes never count against the others behind its NAT.
   */
  limiter: FailureLimiter;
  /** Unknown names per source, whatever the name: a scan of made-up names. It never refuses a known device's name. */
  scans: FailureLimiter;
  /** Pending devices created per minute from all sources together: a scan spread over many addresses stays bounded too. */
  newDevices: FailureLimiter;
  digest: DigestAuth;
  timeline: TimelineWriter;
  metrics: FetchMetrics;
}

const MAX_CACHED_DEVICES = 200_000;
// Distinct names remembered with what they are; a scan of made-up names evicts the oldest, never grows it further.
const MAX_KNOWN_NAMES = 32_768;

/** What a requested name is, whoever asks: refused, or the vendor rules it could be, with the MAC it names. */
interface NameFacts {
  refused: string | null;
  candidates: PathMatch[];
  mac: Mac | null;
  /** The name as the render cache keys it. */
  key: string;
  // The render cache key of the last device that asked (a per-MAC name has one device), kept so it is not built and hashed per request.
  deviceId: string;
  familyId: string;
  deviceKey: string;
  // What the last request for the name found, reused while what it came from is unchanged: the cached device
  // record (while FileService's devices are as they were), the rendered file (while the render cache is), and
  // the rule chosen for that User-Agent family and device vendor. At 10,000 devices a lookup is a cache miss.
  device: Device | undefined;
  devicesSeen: number;
  file: RenderedFile | null;
  fileKey: string;
  filesSeen: number;
  choiceFor: [VendorFamily | null, string | null] | null;
  choice: PathMatch | null;
}

/** Wrong credentials are counted per source and device: a phone's mistakes never lock out the others behind its NAT. */
const guessKey = (req: FetchRequest, device: Device) => `auth\0${req.source}\0${device.mac}`;

/**
 * `<device id>:<vendor family>:<name>`, the render cache key of a device's
 * file: a name two vendors share (`<mac>.cfg`) is rendered by the rule the
 * request's User-Agent chose, and each vendor's file is kept apart.
 */
function cacheKey(facts: NameFacts, device: Device, family: VendorFamily): string {
  if (facts.deviceId !== device.id || facts.familyId !== family.id) {
    facts.deviceId = device.id;
    facts.familyId = family.id;
    facts.deviceKey = `${device.id}:${family.id}:${facts.key}`;
  }
  return facts.deviceKey;
}

function nameFacts(name: string): NameFacts {
  const refused = refuseName(name);
  const candidates = refused ? [] : matchPath(name);
  return {
    refused, candidates, mac: candidates.find((c) => c.mac)?.mac ?? null, key: name.toLowerCase(), deviceId: '', familyId: '', deviceKey: '',
    device: undefined, devicesSeen: -1, file: null, fileKey: '', filesSeen: -1, choiceFor: null, choice: null,
  };
}

/**
 * Answers one request for a file, whatever the transport: the TFTP and HTTP
 * front ends only translate. Every answer about a known device lands in its
 * timeline; failures count against the source's limit.
 */
export class FileService {
  // Devices by MAC, so a fetch of a cached file touches no database; dropped by forget() on every change to the device.
  private readonly devices = new Map<Mac, Device>();
  // Opened (and hashed for digest) once per cached device record rather than per request; a changed record is a new object and is opened again.
  private readonly secrets = new WeakMap<Device, DigestSecret>();
  // Phones ask for the same few names again and again: each is checked and matched to vendor rules once.
  private readonly names = new Map<string, NameFacts>();
  // Counts changes to `devices`, so a name's remembered device is known to be current.
  private devicesChanged = 0;
  // No device record is kept while changes made by other processes may go unheard.
  private readonly trusting = new CacheTrust(() => this.forgetAll());

  constructor(private readonly d: FetchDeps) {}

  forget(deviceId: string): void {
    for (const [mac, dev] of this.devices) {
      if (dev.id === deviceId) {
        this.devices.delete(mac);
        this.devicesChanged++;
        return;
      }
    }
  }

  /** Changes may go unheard from now on (see CacheTrust). */
  distrust(): void {
    this.trusting.distrust();
  }

  trust(): void {
    this.trusting.trust();
  }

  private forgetAll(): void {
    this.devices.clear();
    this.devicesChanged++;
  }

  private async device(mac: Mac): Promise<Device | null> {
    const cached = this.devices.get(mac);
    if (cached) return cached;
    const found = await deviceByMac(this.d.knex, mac);
    if (found) this.remember(found);
    return found;
  }

  private provSecret(device: Device): DigestSecret {
    let secret = this.secrets.get(device);
    if (secret === undefined) {
      secret = digestSecret(device.provUsername, this.d.secrets.open(device.provPasswordSealed));
      this.secrets.set(device, secret);
    }
    return secret;
  }

  private remember(device: Device): void {
    if (!this.trusting.mayKeep) return;
    if (this.devices.size >= MAX_CACHED_DEVICES) this.devices.delete(this.devices.keys().next().value!);
    this.devices.set(device.mac, device);
    this.devicesChanged++;
  }

  /**
   * A cached file of a device already in memory is answered at once, so the
   * busiest path waits on nothing; anything that needs the database, the
   * renderer or the firmware folder comes back as a promise. Names of known
   * devices and common files are served whatever else the source got wrong.
   */
  fetch(req: FetchRequest): FetchResult | Promise<FetchResult> {
    const started = performance.now();
    const result = this.answer(req);
    if (result instanceof Promise) return result.then((r) => this.d.metrics.record(req.transport, r, started));
    return this.d.metrics.record(req.transport, result, started);
  }

  private answer(req: FetchRequest): FetchResult | Promise<FetchResult> {
    const name = stripOneSlash(req.name);
    const facts = this.factsOf(name);
    if (facts.refused) return this.fail(req, name, 'forbidden', facts.refused);
    const { candidates, mac } = facts;
    if (candidates.length === 0) return this.unmatched(req, name);
    const ua = parseUserAgent(req.userAgent);
    if (mac && ua?.mac && ua.mac !== mac) return this.fail(req, name, 'forbidden', 'the User-Agent names another MAC');
    if (mac === null) return this.matched(req, name, facts, ua, null);
    const known = this.knownDevice(facts, mac);
    if (known) return this.matched(req, name, facts, ua, known);
    return this.device(mac).then((device) => this.matched(req, name, facts, ua, device));
  }

  /** An uploaded image, to the device its path names, with that device's credentials, and only an image of its own model. */
  private async image(req: FetchRequest, name: string, path: { mac: string; version: string; fileName: string }): Promise<FetchResult> {
    const mac = parseMac(path.mac);
    const ua = parseUserAgent(req.userAgent);
    if (ua?.mac && ua.mac !== mac) return this.fail(req, name, 'forbidden', 'the User-Agent names another MAC');
    const device = mac ? await this.device(mac) : null;
    if (!device) return this.fail(req, name, 'not_found', 'firmware for an unknown device');
    const denied = this.authorize(req, name, device);
    if (denied) return denied;
    this.noteFirmware(device, ua, req);
    const model = device.model ? (findModel(device.model)?.model.name ?? null) : null;
    const row = model ? await this.d.knex('firmware_images').where({ model, version: path.version, file_name: path.fileName }).first('sha256') : null;
    const found = row ? await findStatic(this.d.images.dir, row.sha256) : null;
    if (!found) {
      this.event(device, req, name, 'not_found', `no image of this name and version for ${model ?? 'its model'}`);
      return this.fail(req, name, 'not_found', 'no such firmware image for the device');
    }
    this.event(device, req, name, 'ok', null);
    return { status: 'static', file: found };
  }

  /**
   * The version a phone's User-Agent reports, when it differs from the one
   * last recorded: into the timeline and onto the device, where a rollout's
   * progress reads it.
   */
  private noteFirmware(device: Device, ua: UserAgentFacts | null, req: FetchRequest): void {
    const version = ua?.version?.slice(0, 64);
    if (!version || version === device.firmwareVersion) return;
    this.remember({ ...device, firmwareVersion: version });
    this.d.timeline.add(device.id, {
      kind: 'firmware', transport: req.transport, source: req.source, userAgent: req.userAgent ?? null, result: 'reported',
      detail: device.firmwareVersion ? `${version} (was ${device.firmwareVersion})` : version,
    });
    this.d.knex('devices').where('id', device.id).update({ firmware_version: version, firmware_reported_at: now() })
      .catch((err: unknown) => this.d.log.error({ err, deviceId: device.id }, 'provisioning: cannot record the firmware a phone reports'));
  }

  /** devices.get(mac), without the lookup while no device record came or went since the name's last request. */
  private knownDevice(facts: NameFacts, mac: Mac): Device | undefined {
    if (facts.devicesSeen !== this.devicesChanged) {
      facts.device = this.devices.get(mac);
      facts.devicesSeen = this.devicesChanged;
    }
    return facts.device;
  }

  /** The render cache's file for the key, without the lookup while the cache is unchanged since the name's last request. */
  private cachedFile(facts: NameFacts, key: string): RenderedFile | null {
    if (facts.filesSeen !== this.d.cache.version || facts.fileKey !== key) {
      facts.file = this.d.cache.get(key);
      facts.fileKey = key;
      facts.filesSeen = this.d.cache.version;
    }
    return facts.file;
  }

  private factsOf(name: string): NameFacts {
    let facts = this.names.get(name);
    if (facts === undefined) {
      facts = nameFacts(name);
      if (this.names.size >= MAX_KNOWN_NAMES) this.names.delete(this.names.keys().next().value!);
      this.names.set(name, facts);
    }
    return facts;
  }

  private async unmatched(req: FetchRequest, name: string): Promise<FetchResult> {
    const image = parseImagePath(name);
    if (image) return this.image(req, name, image);
    const found = await findStatic(this.d.firmwareDir, name);
    if (found) return { status: 'static', file: found };
    if (isIgnoredName(name)) return { status: 'not_found', reason: 'known name, not served' };
    return this.fail(req, name, 'not_found', 'unknown name');
  }

  private matched(req: FetchRequest, name: string, facts: NameFacts, ua: UserAgentFacts | null, device: Device | null): FetchResult | Promise<FetchResult> {
    const uaFamily = ua?.family ?? null;
    const vendor = device?.vendor ?? null;
    // chooseMatch depends on nothing else than these two.
    if (facts.choiceFor === null || facts.choiceFor[0] !== uaFamily || facts.choiceFor[1] !== vendor) {
      facts.choice = chooseMatch(facts.candidates, { userAgent: ua, deviceVendor: vendor });
      facts.choiceFor = [uaFamily, vendor];
    }
    const match = facts.choice;
    if (!match) {
      if (device) this.event(device, req, name, 'not_found', 'the name fits several vendors; set the device model');
      return this.fail(req, name, 'not_found', 'ambiguous name');
    }
    const { family, rule } = match;
    if (!rule.perDevice) {
      const key = `common:${family.id}:${facts.key}`;
      let file = this.d.cache.get(key);
      if (!file) {
        const text = this.d.renderer.render(family, rule, templateData(family, { name, mac: match.mac, model: match.model, tag: match.tag }, null, this.d.server.provisioningUrl));
        file = renderedFile(text, rule.contentType, '2000-01-01T00:00:00Z', 'common', family.id);
        this.d.cache.set(key, file, []);
      }
      return { status: 'ok', file };
    }
    if (device) return this.forDevice(req, name, facts, match, device, ua);
    // A directory is asked for by a phone that already has its configuration: an unknown MAC here is no phone of ours.
    if (rule.directory) return this.fail(req, name, 'not_found', 'directory of an unknown device');
    return this.createPending(req, match.mac!, family.id, ua?.family === family ? (ua.model?.model.name ?? null) : null)
      .then((created) => (created ? this.forDevice(req, name, facts, match, created, ua) : { status: 'rate_limited', reason: 'too many new devices from this source' }));
  }

  /** The answer refusing a request that lacks the device's credentials, or null when it may be served. */
  private authorize(req: FetchRequest, name: string, device: Device): FetchResult | null {
    // Only a phone on an extension is protected: an activation file holds nothing of an extension, and
    // demanding credentials there would let whoever fetched a MAC first lock the real phone out of activation.
    if (req.transport === 'tftp' || !device.credentialsSentAt || !device.extensionId) return null;
    if (req.authorization && !this.d.limiter.idle && this.d.limiter.blocked(guessKey(req, device))) return { status: 'rate_limited', reason: 'too many wrong credentials for this device from this source' };
    const user = this.d.digest.verify(req.authorization, req.method ?? 'GET', {
      basicAllowed: req.transport === 'https',
      secret: (u) => (u === device.provUsername ? this.provSecret(device) : null),
      expected: req.authorization ? this.provSecret(device) : undefined,
    });
    if (user) return null;
    this.event(device, req, name, 'unauthorized', req.authorization ? 'wrong credentials' : 'no credentials');
    // A digest client always asks once without credentials to get its challenge: only wrong ones count.
    if (req.authorization) this.penalize(this.d.limiter, guessKey(req, device), req, 'too many wrong credentials for one device from one source; refusing them for the rest of the minute');
    return { status: 'unauthorized', challenge: this.d.digest.challenge({ basic: req.transport === 'https' }) };
  }

  private forDevice(req: FetchRequest, name: string, facts: NameFacts, match: PathMatch, device: Device, ua: UserAgentFacts | null): FetchResult | Promise<FetchResult> {
    const denied = this.authorize(req, name, device);
    if (denied) return denied;
    // Only once the credentials are checked: a forged User-Agent must not move a rollout along.
    this.noteFirmware(device, ua, req);
    if (match.rule.directory) {
      // Never over TFTP, which has no credentials; never before the device holds credentials of its own to ask with.
      const refused = req.transport === 'tftp' ? 'the directory is served over HTTP(S) only'
        : !device.extensionId || !device.credentialsSentAt || !device.tenantId ? 'the device has no configuration yet' : null;
      if (refused) {
        this.event(device, req, name, 'not_found', refused);
        return { status: 'not_found', reason: refused };
      }
    }
    const key = cacheKey(facts, device, match.family);
    const file = this.cachedFile(facts, key);
    if (file && (device.credentialsSentAt || file.mode !== 'full')) {
      this.event(device, req, name, file.mode === 'activation' ? 'activation' : 'ok', null);
      return { status: 'ok', file };
    }
    return this.deliver(req, name, key, match, device, file);
  }

  /** A file not yet rendered, or the first full configuration, whose delivery is recorded before it is sent. */
  private async deliver(req: FetchRequest, name: string, key: string, match: PathMatch, device: Device, cached: RenderedFile | null): Promise<FetchResult> {
    const { family, rule } = match;
    let file = cached;
    if (!file && rule.directory) return this.deliverDirectory(req, name, key, match, device);
    if (!file) {
      const loaded = await loadDeviceSettings(this.d.knex, this.d.secrets, this.d.server, device);
      const text = this.d.renderer.render(family, rule, templateData(family, { name, mac: match.mac, model: match.model, tag: match.tag }, loaded.settings, this.d.server.provisioningUrl));
      file = renderedFile(text, rule.contentType, loaded.lastModified, loaded.settings.mode, family.id);
      this.d.cache.set(key, file, loaded.dependsOn);
    }
    if (!device.credentialsSentAt && file.mode === 'full') {
      // This file carries the device's provisioning credentials: from now on, HTTP fetches must present them.
      const at = now();
      await this.d.knex('devices').where('id', device.id).update({ credentials_sent_at: at });
      // The cached record, not `device`: the firmware this very request reported may be newer there.
      this.remember({ ...(this.devices.get(device.mac) ?? device), credentialsSentAt: at });
    }
    this.event(device, req, name, file.mode === 'activation' ? 'activation' : 'ok', null);
    return { status: 'ok', file };
  }

  /**
   * A tenant's directory file: the device's settings say whether it is on, and the file itself, the same
   * for every phone of the tenant and vendor, is rendered once and shared until a profile, an extension
   * or the tenant changes.
   */
  private async deliverDirectory(req: FetchRequest, name: string, key: string, match: PathMatch, device: Device): Promise<FetchResult> {
    const { family, rule } = match;
    const tenantId = device.tenantId!;
    const loaded = await loadDeviceSettings(this.d.knex, this.d.secrets, this.d.server, device);
    if (loaded.settings.mode !== 'full' || !loaded.settings.directory) {
      this.event(device, req, name, 'not_found', 'the corporate directory is off for this device');
      return { status: 'not_found', reason: 'directory off' };
    }
    const dependency = directoryDependency(tenantId);
    const sharedKey = `${dependency}:${family.id}:${rule.template}`;
    let file = this.d.cache.get(sharedKey);
    if (!file) {
      const { directory, lastModified } = await loadDirectory(this.d.knex, tenantId);
      const text = this.d.renderer.render(family, rule, templateData(family, { name, mac: match.mac, model: match.model, tag: match.tag }, null, this.d.server.provisioningUrl, undefined, directory));
      file = renderedFile(text, rule.contentType, lastModified, 'full', family.id);
      this.d.cache.set(sharedKey, file, [dependency]);
    }
    this.d.cache.set(key, file, [...loaded.dependsOn, dependency]);
    this.event(device, req, name, 'ok', null);
    return { status: 'ok', file };
  }

  private async createPending(req: FetchRequest, mac: Device['mac'], vendor: string, model: string | null): Promise<Device | null> {
    const perSource = `new\0${req.source}`;
    const first = this.d.limiter.fail(perSource);
    if (first) this.d.log.warn({ source: req.source, transport: req.transport }, 'provisioning: too many new MACs from one source; refusing new ones from it for the rest of the minute');
    if (this.d.limiter.blocked(perSource) && !first) return null;
    if (this.d.newDevices.blocked('all')) return null;
    if (this.d.newDevices.fail('all')) this.d.log.warn({ source: req.source }, 'provisioning: too many new MACs from all sources; refusing new ones for the rest of the minute');
    const row = newDeviceRow(this.d.secrets, { mac, tenantId: null, vendor, model, extensionId: null });
    try {
      await this.d.knex('devices').insert(row);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      return this.device(mac);
    }
    this.d.log.info({ mac, vendor, source: req.source }, 'provisioning: unknown MAC, recorded as a pending device');
    const device = deviceFromRow(row);
    this.remember(device);
    await recordDeviceEvent(this.d.knex, device.id, { kind: 'created', transport: req.transport, source: req.source, userAgent: req.userAgent ?? null, result: 'pending', detail: 'unknown MAC; serving the activation configuration' });
    return device;
  }

  private event(device: Device, req: FetchRequest, file: string, result: string, detail: string | null): void {
    this.d.timeline.add(device.id, { kind: 'fetch', transport: req.transport, file, source: req.source, userAgent: req.userAgent ?? null, result, detail });
  }

  private penalize(limiter: FailureLimiter, key: string, req: FetchRequest, warning: string): void {
    if (limiter.fail(key)) this.d.log.warn({ source: req.source, transport: req.transport, name: req.name.slice(0, 80) }, `provisioning: ${warning}`);
  }

  /** A name that is no device's: counted for this source and name, and for this source's scan of names, never against other names. */
  private fail(req: FetchRequest, name: string, status: 'not_found' | 'forbidden', reason: string): FetchResult {
    const again = `name\0${req.source}\0${name}`;
    if (this.d.limiter.blocked(again)) return { status: 'rate_limited', reason: 'this name was asked for too often from this source' };
    if (this.d.scans.blocked(req.source)) return { status: 'rate_limited', reason: 'too many unknown names from this source' };
    this.penalize(this.d.limiter, again, req, 'one unknown name asked for too often from one source; refusing that name to it for the rest of the minute');
    this.penalize(this.d.scans, req.source, req, 'too many unknown names from one source; refusing unknown names to it for the rest of the minute (known devices are still served)');
    this.d.log.info({ source: req.source, transport: req.transport, name: req.name.slice(0, 80), reason }, 'provisioning: request refused');
    return { status, reason };
  }
}
