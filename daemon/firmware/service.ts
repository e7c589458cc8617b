import type { Knex } from 'knex';
import type { Readable } from 'node:stream';
import { isPlainObject } from '../admin/domain/fields';
import type { ChangeFeed } from '../core/changes';
import { ConflictError, NotFoundError, Problems, ValidationError } from '../core/errors';
import { newId, now } from '../core/ids';
import type { Mac } from '../provisioning/mac';
import type { FirmwareImage } from '../provisioning/model/settings';
import { findModel } from '../provisioning/vendors/match';
import { isUniqueViolation } from '../storage/errors';
import { fromJsonColumn, toJsonColumn } from '../storage/json';
import { imagePath, modelsNamedIn, servedImageName, versionFromName, versionProblem } from './image-name';
import type { ImageStore } from './image-store';
import { type DeviceRolloutFacts, type RolloutProgress, rolloutProgress } from './progress';
import { type DeviceInScope, type RolloutRule, narrowing, retargeted, targetRollout } from './stages';

export interface FirmwareDeps {
  knex: Knex;
  images: ImageStore;
  /** Largest upload accepted, in bytes. */
  maxBytes: number;
}

export interface ImageView {
  id: string;
  vendor: string;
  model: string;
  version: string;
  /** The name it is served as (characters phones refuse become `_`). */
  fileName: string;
  sha256: string;
  size: number;
  createdAt: string;
}

type Row = Record<string, any>;

const imageFromRow = (r: Row): ImageView => ({
  id: r.id, vendor: r.vendor, model: r.model, version: r.version, fileName: r.file_name, sha256: r.sha256, size: Number(r.size), createdAt: r.created_at,
});

export interface NewImage {
  /** The file's own name, as uploaded: the version is read from it when none is given. */
  fileName: string;
  model: string;
  version?: string | undefined;
}

/** Checks what an upload claims before a byte of it is read: a mistake costs nothing, and a duplicate is refused without storing it again. */
async function checkNewImage(knex: Knex, input: NewImage): Promise<Omit<ImageView, 'id' | 'sha256' | 'size' | 'createdAt'>> {
  const p = new Problems();
  const named = servedImageName(input.fileName);
  if ('reason' in named) p.add('fileName', named.reason);
  const known = findModel(input.model ?? '');
  if (!known) p.add('model', `is not a model dialtone provisions (GET /api/v1/device-models lists them), got ${JSON.stringify(String(input.model).slice(0, 40))}`);
  let version = input.version;
  if (version !== undefined) {
    const problem = versionProblem(version);
    if (problem) p.add('version', problem);
  } else if (known && 'name' in named) {
    version = versionFromName(known.family.id, input.fileName) ?? undefined;
    if (version === undefined) p.add('version', `the file name carries no version (${known.family.name} names seldom do): give it`);
  }
  if (known && 'name' in named) {
    const others = modelsNamedIn(input.fileName);
    if (others.length > 0 && !others.some((m) => m.model.name === known.model.name)) {
      p.add('model', `the file name names ${others.map((m) => m.model.name).join(', ')}, not ${known.model.name}: an image for another model could leave the phones unusable`);
    }
  }
  p.throwIfAny();
  const model = known!.model.name;
  const existing = await knex('firmware_images').where({ model, version }).first('id');
  if (existing) throw new ConflictError('version', `${model} already has an image of version ${version} (${existing.id})`);
  return { vendor: known!.family.id, model, version: version!, fileName: (named as { name: string }).name };
}

/** Stores an uploaded image, streamed from `body`, under its SHA-256, and records it. */
export async function addImage(d: FirmwareDeps, input: NewImage, body: Readable): Promise<ImageView> {
  const facts = await checkNewImage(d.knex, input);
  const stored = await d.images.save(body, d.maxBytes);
  const row = { id: newId(), vendor: facts.vendor, model: facts.model, version: facts.version, file_name: facts.fileName, sha256: stored.sha256, size: stored.size, created_at: now() };
  try {
    await d.knex('firmware_images').insert(row);
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    // The same model and version arrived twice at once: the other upload keeps the file when it is the same content.
    if (!(await d.knex('firmware_images').where('sha256', stored.sha256).first('id'))) await d.images.drop(stored.sha256);
    throw new ConflictError('version', `${facts.model} already has an image of version ${facts.version}`);
  }
  return imageFromRow(row);
}

export async function listImages(knex: Knex, model?: string): Promise<ImageView[]> {
  const q = knex('firmware_images').orderBy([{ column: 'model' }, { column: 'created_at', order: 'desc' }]);
  if (model) q.where('model', findModel(model)?.model.name ?? model);
  return (await q).map(imageFromRow);
}

export async function getImage(knex: Knex, id: string): Promise<ImageView> {
  const row = await knex('firmware_images').where('id', id).first();
  if (!row) throw new NotFoundError('firmware image');
  return imageFromRow(row);
}

// ---- rollouts ----

export interface RolloutView {
  id: string;
  imageId: string;
  model: string;
  version: string;
  tenantId: string;
  siteId: string | null;
  stage: { percent: number } | { deviceIds: string[] };
  status: 'active' | 'cancelled';
  createdAt: string;
  updatedAt: string;
}

const ruleFromRow = (r: Row): RolloutRule & { status: 'active' | 'cancelled'; updatedAt: string } => ({
  id: r.id, imageId: r.image_id, model: r.model, version: r.version, tenantId: r.tenant_id, siteId: r.site_id ?? null,
  percent: r.percent === null || r.percent === undefined ? null : Number(r.percent),
  deviceIds: r.device_ids ? fromJsonColumn<string[]>(r.device_ids, []) : null,
  createdAt: r.created_at, status: r.status, updatedAt: r.updated_at,
});

const viewOf = (r: ReturnType<typeof ruleFromRow>): RolloutView => ({
  id: r.id, imageId: r.imageId, model: r.model, version: r.version, tenantId: r.tenantId, siteId: r.siteId,
  stage: r.deviceIds ? { deviceIds: r.deviceIds } : { percent: r.percent! }, status: r.status, createdAt: r.createdAt, updatedAt: r.updatedAt,
});

const ROLLOUT_COLUMNS = ['firmware_rollouts.*', 'firmware_images.version'];

/** The active rollouts of a tenant for one model, as the target rules read them. */
export async function activeRules(knex: Knex, tenantId: string, model: string): Promise<RolloutRule[]> {
  const rows = await knex('firmware_rollouts').join('firmware_images', 'firmware_images.id', 'firmware_rollouts.image_id')
    .where({ 'firmware_rollouts.tenant_id': tenantId, 'firmware_rollouts.model': model, 'firmware_rollouts.status': 'active' }).select(ROLLOUT_COLUMNS);
  return rows.map(ruleFromRow);
}

interface ScopedDevice extends DeviceInScope {
  reportedVersion: string | null;
  lastSeenAt: string | null;
}

/** A tenant's devices of one model, with the site each belongs to (its extension's, else its user's), as the settings are built. */
async function tenantDevices(knex: Knex, tenantId: string, model: string): Promise<ScopedDevice[]> {
  const rows = await knex('devices')
    .leftJoin('extensions', 'extensions.id', 'devices.extension_id')
    .leftJoin('users', 'users.id', 'extensions.user_id')
    .where('devices.tenant_id', tenantId)
    .select('devices.id', 'devices.mac', 'devices.model', 'devices.tenant_id', 'devices.firmware_version', 'devices.last_seen_at', 'extensions.site_id as ext_site', 'users.site_id as user_site');
  return rows
    .map((r: Row) => ({
      id: r.id, mac: r.mac, model: r.model ? (findModel(r.model)?.model.name ?? null) : null, tenantId: r.tenant_id,
      siteId: r.ext_site ?? r.user_site ?? null, reportedVersion: r.firmware_version ?? null, lastSeenAt: r.last_seen_at ?? null,
    }))
    .filter((d) => d.model === model);
}

export interface RolloutDeps {
  knex: Knex;
  changes: ChangeFeed;
}

/** Each device whose target image changed is announced, so its cached files are dropped and the phone is told to fetch them again. */
async function announce(d: RolloutDeps, tenantId: string, model: string, change: () => Promise<void>, actor: string): Promise<void> {
  const devices = await tenantDevices(d.knex, tenantId, model);
  const before = await activeRules(d.knex, tenantId, model);
  await change();
  const after = await activeRules(d.knex, tenantId, model);
  for (const device of retargeted(devices, before, after)) d.changes.publish({ kind: 'device', id: device.id, tenantId, action: 'updated', actor });
}

const MAX_LISTED = 1000;

function checkStage(body: Record<string, unknown>, p: Problems): { percent?: number; deviceIds?: string[] } {
  const out: { percent?: number; deviceIds?: string[] } = {};
  if ('percent' in body) {
    const v = body.percent;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 100) p.add('percent', 'must be a whole number from 1 to 100');
    else out.percent = v;
  }
  if ('deviceIds' in body) {
    const v = body.deviceIds;
    if (!Array.isArray(v) || v.length === 0 || v.length > MAX_LISTED || v.some((x) => typeof x !== 'string' || x.length === 0 || x.length > 64)) {
      p.add('deviceIds', `must be a list of 1 to ${MAX_LISTED} device ids`);
    } else out.deviceIds = [...new Set(v as string[])];
  }
  return out;
}

function unknownFields(body: Record<string, unknown>, allowed: string[], p: Problems): void {
  for (const k of Object.keys(body)) if (!allowed.includes(k)) p.add(k, 'is not a known field');
}

async function checkListedDevices(knex: Knex, tenantId: string, model: string, ids: string[], p: Problems): Promise<void> {
  const devices = new Map((await tenantDevices(knex, tenantId, model)).map((dev) => [dev.id, dev]));
  const foreign = ids.filter((id) => !devices.has(id));
  if (foreign.length > 0) p.add('deviceIds', `${foreign.length} of them are not ${model} devices of this tenant (${foreign.slice(0, 3).join(', ')})`);
}

/** A new rollout of an image to a tenant (or one of its sites), staged by percentage or by a list of devices. */
export async function createRollout(d: RolloutDeps, body: unknown, actor: string): Promise<RolloutView> {
  if (!isPlainObject(body)) throw new ValidationError([{ field: 'body', reason: 'must be a JSON object' }]);
  const p = new Problems();
  unknownFields(body, ['imageId', 'tenantId', 'siteId', 'percent', 'deviceIds'], p);
  const stage = checkStage(body, p);
  if ((stage.percent === undefined) === (stage.deviceIds === undefined) && !p.list.some((x) => x.field === 'percent' || x.field === 'deviceIds')) {
    p.add('percent', 'give exactly one of percent or deviceIds');
  }
  const str = (k: string) => (typeof body[k] === 'string' && (body[k] as string).length <= 64 ? (body[k] as string) : null);
  const image = str('imageId') ? await d.knex('firmware_images').where('id', str('imageId')).first() : null;
  if (!image) p.add('imageId', 'must name an uploaded firmware image (GET /api/v1/firmware)');
  const tenant = str('tenantId') ? await d.knex('tenants').where('id', str('tenantId')).first('id') : null;
  if (!tenant) p.add('tenantId', 'must name a tenant');
  let siteId: string | null = null;
  if (body.siteId !== undefined && body.siteId !== null) {
    const site = str('siteId') && tenant ? await d.knex('sites').where({ id: str('siteId'), tenant_id: tenant.id }).first('id') : null;
    if (!site) p.add('siteId', 'must name a site of the tenant');
    else siteId = site.id;
  }
  p.throwIfAny();
  if (stage.deviceIds) await checkListedDevices(d.knex, tenant.id, image.model, stage.deviceIds, p);
  p.throwIfAny();
  const at = now();
  const row = {
    id: newId(), image_id: image.id, model: image.model, tenant_id: tenant.id, site_id: siteId, percent: stage.percent ?? null,
    device_ids: stage.deviceIds ? toJsonColumn(stage.deviceIds) : null, status: 'active', created_at: at, updated_at: at,
  };
  await announce(d, tenant.id, image.model, async () => {
    await d.knex('firmware_rollouts').insert(row);
  }, actor);
  return getRollout(d.knex, row.id);
}

async function ruleById(knex: Knex, id: string) {
  const row = await knex('firmware_rollouts').join('firmware_images', 'firmware_images.id', 'firmware_rollouts.image_id').where('firmware_rollouts.id', id).first(ROLLOUT_COLUMNS);
  if (!row) throw new NotFoundError('rollout');
  return ruleFromRow(row);
}

export async function getRollout(knex: Knex, id: string): Promise<RolloutView> {
  return viewOf(await ruleById(knex, id));
}

export async function listRollouts(knex: Knex, tenantId?: string): Promise<RolloutView[]> {
  const q = knex('firmware_rollouts').join('firmware_images', 'firmware_images.id', 'firmware_rollouts.image_id').orderBy('firmware_rollouts.created_at', 'desc').select(ROLLOUT_COLUMNS);
  if (tenantId) q.where('firmware_rollouts.tenant_id', tenantId);
  return (await q).map((r: Row) => viewOf(ruleFromRow(r)));
}

/** Widens a rollout's stage: a larger percentage, or more devices. */
export async function widenRollout(d: RolloutDeps, id: string, body: unknown, actor: string): Promise<RolloutView> {
  if (!isPlainObject(body)) throw new ValidationError([{ field: 'body', reason: 'must be a JSON object' }]);
  const rule = await ruleById(d.knex, id);
  if (rule.status !== 'active') throw new ConflictError('status', 'the rollout was cancelled; start a new one');
  const p = new Problems();
  unknownFields(body, ['percent', 'deviceIds'], p);
  const stage = checkStage(body, p);
  if (stage.percent === undefined && stage.deviceIds === undefined && p.list.length === 0) p.add('percent', 'give percent or deviceIds to widen the stage to');
  p.throwIfAny();
  const narrower = narrowing(rule, stage);
  if (narrower) throw new ValidationError([narrower]);
  if (stage.deviceIds) await checkListedDevices(d.knex, rule.tenantId, rule.model, stage.deviceIds, p);
  p.throwIfAny();
  await announce(d, rule.tenantId, rule.model, async () => {
    await d.knex('firmware_rollouts').where('id', id).update({
      ...(stage.percent !== undefined ? { percent: stage.percent } : {}),
      ...(stage.deviceIds ? { device_ids: toJsonColumn(stage.deviceIds) } : {}),
      updated_at: now(),
    });
  }, actor);
  return getRollout(d.knex, id);
}

/** Stops a rollout: its phones fall back to whatever other rollout reaches them, or are left on what they run. */
export async function cancelRollout(d: RolloutDeps, id: string, actor: string): Promise<RolloutView> {
  const rule = await ruleById(d.knex, id);
  if (rule.status === 'active') {
    await announce(d, rule.tenantId, rule.model, async () => {
      await d.knex('firmware_rollouts').where('id', id).update({ status: 'cancelled', updated_at: now() });
    }, actor);
  }
  return getRollout(d.knex, id);
}

const CHUNK = 400;

/** The rollout with the progress of every phone it currently targets, read from the devices' reported versions and timelines. */
export async function rolloutWithProgress(knex: Knex, id: string, nowMs: number, stuckMs: number): Promise<RolloutView & { progress: RolloutProgress }> {
  const rule = await ruleById(knex, id);
  const image = await getImage(knex, rule.imageId);
  const rules = await activeRules(knex, rule.tenantId, rule.model);
  const targeted = rule.status === 'active' ? (await tenantDevices(knex, rule.tenantId, rule.model)).filter((dev) => targetRollout(dev, rules)?.id === rule.id) : [];
  const fetchedAt = new Map<string, string>();
  for (let i = 0; i < targeted.length; i += CHUNK) {
    const chunk = targeted.slice(i, i + CHUNK);
    const rows = await knex('device_events').whereIn('device_id', chunk.map((dev) => dev.id)).where({ kind: 'fetch', result: 'ok' })
      .whereIn('file', chunk.map((dev) => imagePath(dev.mac as Mac, image.version, image.fileName)))
      .groupBy('device_id').select('device_id').max('last_at as at');
    for (const r of rows as Row[]) fetchedAt.set(r.device_id, r.at);
  }
  const facts: DeviceRolloutFacts[] = targeted.map((dev) => ({
    deviceId: dev.id, mac: dev.mac, reportedVersion: dev.reportedVersion, imageFetchedAt: fetchedAt.get(dev.id) ?? null, lastSeenAt: dev.lastSeenAt,
  }));
  return { ...viewOf(rule), progress: rolloutProgress(facts, image.version, nowMs, stuckMs) };
}

/** The image a device should run and the URL it fetches it at, or null when no rollout targets it. */
export async function firmwareTarget(knex: Knex, device: DeviceInScope, provisioningUrl: string): Promise<FirmwareImage | null> {
  if (!device.tenantId || !device.model) return null;
  const rule = targetRollout(device, await activeRules(knex, device.tenantId, device.model));
  if (!rule) return null;
  const image = await getImage(knex, rule.imageId);
  return { url: `${provisioningUrl}/${imagePath(device.mac as Mac, image.version, image.fileName)}`, version: image.version, fileName: image.fileName };
}
