import type { Knex } from 'knex';
import { isPlainObject } from '../../admin/domain/fields';
import { type Scope, scoped } from '../../admin/service/scope';
import type { ChangeFeed } from '../../core/changes';
import { ConflictError, NotFoundError, Problems, ValidationError } from '../../core/errors';
import { now } from '../../core/ids';
import type { SecretBox } from '../../crypto/secret-box';
import { translateUnique } from '../../storage/errors';
import { toJsonColumn } from '../../storage/json';
import { recordDeviceEvent } from '../events';
import { type Mac, macColons, parseMac } from '../mac';
import { validateOverrides } from '../model/overrides';
import type { SettingsOverrides } from '../model/settings';
import { DEVICE_UNIQUE, type Device, deviceByMac, deviceFromRow, freshProvisioningCredentials, newDeviceRow } from '../store/devices';
import { findModel, knownModelNames } from '../vendors/match';
import { type DevicePort, parsePorts, portsOfDevices } from './ports';

export interface DeviceDeps {
  knex: Knex;
  changes: ChangeFeed;
  secrets: SecretBox;
}

/** A device as the API shows it: never a credential. */
export interface DeviceView {
  id: string;
  tenantId: string | null;
  mac: string;
  vendor: string | null;
  model: string | null;
  extensionId: string | null;
  /** An ATA's ports 2 and up with the extension on each (port 1 is extensionId). */
  ports: DevicePort[];
  /** pending: asked for its files before anyone entered it; unassigned: entered without an extension; assigned: has one. */
  status: 'pending' | 'unassigned' | 'assigned';
  /** True once its full configuration, with its provisioning credentials, was served: its HTTP fetches now need them. */
  provisioned: boolean;
  overrides: SettingsOverrides;
  lastSeenAt: string | null;
  lastSource: string | null;
  createdAt: string;
  updatedAt: string;
}

export function deviceView(d: Device, ports: DevicePort[] = []): DeviceView {
  return {
    id: d.id, tenantId: d.tenantId, mac: d.mac, vendor: d.vendor, model: d.model, extensionId: d.extensionId, ports,
    status: d.tenantId === null ? 'pending' : d.extensionId ? 'assigned' : 'unassigned',
    provisioned: d.credentialsSentAt !== null, overrides: d.overrides,
    lastSeenAt: d.lastSeenAt, lastSource: d.lastSource, createdAt: d.createdAt, updatedAt: d.updatedAt,
  };
}

const CREATE_FIELDS = ['tenantId', 'mac', 'model', 'extensionId', 'ports', 'overrides', 'replace'];
const PATCH_FIELDS = ['model', 'extensionId', 'ports', 'overrides', 'replace'];

function macField(p: Problems, raw: unknown): Mac | null {
  const mac = typeof raw === 'string' ? parseMac(raw) : null;
  if (!mac) p.add('mac', 'must be a MAC address: 12 hex digits, with or without : - or . separators');
  return mac;
}

function modelField(p: Problems, raw: unknown): { vendor: string; model: string } | null {
  const found = typeof raw === 'string' && raw.length <= 64 ? findModel(raw) : null;
  if (!found) {
    p.add('model', `must be a supported model, such as ${knownModelNames().slice(0, 6).join(', ')} (GET /api/v1/device-models lists them)`);
    return null;
  }
  return { vendor: found.family.id, model: found.model.name };
}

async function extensionField(knex: Knex, p: Problems, raw: unknown, tenantId: string | null, field = 'extensionId'): Promise<{ id: string; tenantId: string } | null> {
  if (typeof raw !== 'string' || raw.length > 64) {
    p.add(field, 'must be an extension id');
    return null;
  }
  const q = knex('extensions').where('id', raw);
  if (tenantId) q.where('tenant_id', tenantId);
  const row = await q.first('id', 'tenant_id');
  if (!row) {
    p.add(field, 'is not an extension of this tenant');
    return null;
  }
  return { id: row.id, tenantId: row.tenant_id };
}

async function overridesField(p: Problems, raw: unknown): Promise<SettingsOverrides | undefined> {
  try {
    return validateOverrides(raw);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    for (const d of err.details) p.add(d.field, d.reason);
    return undefined;
  }
}

function rejectUnknown(p: Problems, body: Record<string, unknown>, allowed: string[]): void {
  for (const k of Object.keys(body)) if (!allowed.includes(k)) p.add(k, 'is not a device field');
}

function replaceField(p: Problems, raw: unknown): boolean {
  if (raw !== undefined && typeof raw !== 'boolean') p.add('replace', 'must be true or false');
  return raw === true;
}

/**
 * The phone already on an extension, unless it is `self`. An extension has one phone: entering another
 * is an explicit choice (`replace: true`), never a silent loss of service for the phone that was there.
 */
async function phoneInTheWay(knex: Knex, extensionId: string, self: string | null, replace: boolean, field = 'extensionId'): Promise<InTheWay | null> {
  const q = knex('devices').where('extension_id', extensionId);
  if (self) q.whereNot('id', self);
  let row: { id: string; mac: string; model: string | null; port?: number } | undefined = await q.first('id', 'mac', 'model');
  if (!row) {
    // An ATA's other port is a phone too; the same device's own ports are rearranged by the request itself.
    const onPort = knex('device_ports').join('devices', 'devices.id', 'device_ports.device_id').where('device_ports.extension_id', extensionId);
    if (self) onPort.whereNot('devices.id', self);
    row = await onPort.first('devices.id', 'devices.mac', 'devices.model', 'device_ports.port');
  }
  if (!row || replace) return row ? { id: row.id, port: row.port ?? null } : null;
  const current = `device ${row.id} (${macColons(row.mac as Mac)}${row.model ? `, ${row.model}` : ''}${row.port ? `, port ${row.port}` : ''})`;
  throw new ConflictError(field, `already has a phone: ${current}. Send "replace": true to move the extension to this phone and leave that one without an extension`);
}

interface InTheWay {
  id: string;
  /** The ATA port the extension was on; null for a device's port 1 (its extensionId). */
  port: number | null;
}

/** Frees the phone (or ATA port) that was on an extension, inside the transaction that gives the extension another. */
async function unassign(trx: Knex, previous: InTheWay, at: string): Promise<void> {
  if (previous.port !== null) await trx('device_ports').where({ device_id: previous.id, port: previous.port }).delete();
  else await trx('devices').where('id', previous.id).update({ extension_id: null, updated_at: at });
  if (previous.port !== null) await trx('devices').where('id', previous.id).update({ updated_at: at });
}

/** The extensions a request puts on ATA ports, checked as extensionId is, with the phones they would be taken from. */
async function portsField(knex: Knex, p: Problems, raw: unknown, model: string | null, tenantId: string | null, self: string | null, replace: boolean, port1: string | null): Promise<{ ports: Map<number, string | null>; previous: InTheWay[] } | null> {
  const ports = parsePorts(p, raw, model);
  if (!ports) return null;
  const previous: InTheWay[] = [];
  for (const [port, id] of ports) {
    if (id === null) continue;
    const ext = await extensionField(knex, p, id, tenantId, `ports.${port}`);
    if (!ext) continue;
    if (ext.id === port1) {
      p.add(`ports.${port}`, 'is this device\'s port 1 extension already');
      continue;
    }
    const inTheWay = await phoneInTheWay(knex, ext.id, self, replace, `ports.${port}`);
    if (inTheWay) previous.push(inTheWay);
  }
  if (port1 === null && [...ports.values()].some((v) => v !== null)) p.add('ports', 'need port 1\'s extension first (extensionId)');
  return { ports, previous };
}

async function writePorts(trx: Knex, deviceId: string, ports: Map<number, string | null>): Promise<void> {
  for (const [port, extensionId] of ports) {
    await trx('device_ports').where({ device_id: deviceId, port }).delete();
    if (extensionId !== null) await trx('device_ports').insert({ device_id: deviceId, port, extension_id: extensionId });
  }
}

async function announceReplaced(d: DeviceDeps, previous: InTheWay | null, by: string, tenantId: string, actor: string, transport: 'api' | 'sip', how: string): Promise<void> {
  if (!previous) return;
  const what = previous.port !== null ? `port ${previous.port} ` : '';
  await recordDeviceEvent(d.knex, previous.id, { kind: 'assigned', transport, source: actor, result: 'unassigned', detail: `${what}replaced by device ${by} ${how}` });
  d.changes.publish({ kind: 'device', id: previous.id, tenantId, action: 'replaced', actor });
}

/**
 * Enters a phone by MAC and model, optionally on an extension: the seeds'
 * "input MAC address". A MAC that already asked as a pending device is
 * claimed, so the phone is fully provisioned at its next fetch.
 */
export async function createDevice(d: DeviceDeps, scope: Scope, input: unknown): Promise<DeviceView> {
  if (!isPlainObject(input)) throw new ValidationError([{ field: 'body', reason: 'must be a JSON object' }]);
  const p = new Problems();
  rejectUnknown(p, input, CREATE_FIELDS);
  const mac = macField(p, input.mac);
  const model = modelField(p, input.model);
  let tenantId: string | null = scope.tenantId;
  if (scope.tenantId !== null && input.tenantId !== undefined && input.tenantId !== scope.tenantId) throw new NotFoundError('tenant');
  if (scope.tenantId === null && typeof input.tenantId === 'string') {
    if (!(await d.knex('tenants').where('id', input.tenantId).first('id'))) throw new NotFoundError('tenant');
    tenantId = input.tenantId;
  }
  const ext = input.extensionId !== undefined && input.extensionId !== null ? await extensionField(d.knex, p, input.extensionId, tenantId) : null;
  tenantId ??= ext?.tenantId ?? null;
  if (tenantId === null) p.add('tenantId', 'is required with an operator token (or give an extensionId)');
  const overrides = 'overrides' in input ? await overridesField(p, input.overrides) : {};
  const replace = replaceField(p, input.replace);
  const existing = mac ? await deviceByMac(d.knex, mac) : null;
  const ports = 'ports' in input ? await portsField(d.knex, p, input.ports, model?.model ?? null, tenantId, existing?.id ?? null, replace, ext?.id ?? null) : null;
  p.throwIfAny();
  if (existing && existing.tenantId !== null) throw new ConflictError('mac', 'is already a device');
  const previous = ext ? await phoneInTheWay(d.knex, ext.id, existing?.id ?? null, replace) : null;
  const at = now();
  // A pending record of the MAC is claimed; otherwise the device is new.
  const enter = async (trx: Knex): Promise<string> => {
    if (existing) {
      await trx('devices').where({ id: existing.id, tenant_id: null }).update({
        tenant_id: tenantId, vendor: model!.vendor, model: model!.model, extension_id: ext?.id ?? null, overrides: toJsonColumn(overrides ?? {}), updated_at: at,
        ...(ext ? freshProvisioningCredentials(d.secrets) : {}),
      });
      return existing.id;
    }
    const row = newDeviceRow(d.secrets, { mac: mac!, tenantId, vendor: model!.vendor, model: model!.model, extensionId: ext?.id ?? null, overrides: overrides ?? {} });
    await trx('devices').insert(row);
    return row.id as string;
  };
  let id: string;
  try {
    id = await d.knex.transaction(async (trx) => {
      if (previous) await unassign(trx, previous, at);
      for (const other of ports?.previous ?? []) await unassign(trx, other, at);
      const deviceId = await enter(trx);
      if (ports) await writePorts(trx, deviceId, ports.ports);
      return deviceId;
    });
  } catch (err) {
    translateUnique(err, DEVICE_UNIQUE);
  }
  await announceReplaced(d, previous, id!, tenantId!, scope.actor, 'api', 'entered on its extension');
  for (const other of ports?.previous ?? []) await announceReplaced(d, other, id!, tenantId!, scope.actor, 'api', 'entered on its extension');
  await recordDeviceEvent(d.knex, id!, { kind: 'assigned', transport: 'api', source: scope.actor, result: ext ? 'assigned' : 'entered', detail: existing ? 'claimed a pending device' : null });
  d.changes.publish({ kind: 'device', id: id!, tenantId: tenantId!, action: existing ? 'reassigned' : 'created', actor: scope.actor });
  return getDevice(d.knex, scope, id!);
}

export async function findDevice(knex: Knex, scope: Scope, id: string): Promise<Device> {
  const row = await scoped(knex('devices').where('id', id), scope).first();
  if (!row) throw new NotFoundError('device');
  return deviceFromRow(row);
}

export async function getDevice(knex: Knex, scope: Scope, id: string): Promise<DeviceView> {
  const device = await findDevice(knex, scope, id);
  return deviceView(device, (await portsOfDevices(knex, [id])).get(id));
}

export interface DeviceFilter {
  mac?: string;
  extensionId?: string;
  status?: 'pending' | 'unassigned' | 'assigned';
  limit?: number;
  offset?: number;
}

export async function listDevices(knex: Knex, scope: Scope, f: DeviceFilter): Promise<{ items: DeviceView[]; total: number; limit: number; offset: number }> {
  const q = scoped(knex('devices'), scope);
  if (f.mac !== undefined) {
    const mac = parseMac(f.mac);
    if (!mac) throw new ValidationError([{ field: 'mac', reason: 'must be a MAC address: 12 hex digits, with or without separators' }]);
    q.where('mac', mac);
  }
  if (f.extensionId) q.where('extension_id', f.extensionId);
  if (f.status === 'pending') q.whereNull('tenant_id');
  if (f.status === 'unassigned') q.whereNotNull('tenant_id').whereNull('extension_id');
  if (f.status === 'assigned') q.whereNotNull('extension_id');
  const limit = f.limit ?? 50;
  const offset = f.offset ?? 0;
  const [{ n }] = await q.clone().count({ n: '*' });
  const rows = (await q.orderBy('mac').limit(limit).offset(offset)).map((r: Record<string, unknown>) => deviceFromRow(r));
  const ports = await portsOfDevices(knex, rows.map((r: Device) => r.id));
  return { items: rows.map((r: Device) => deviceView(r, ports.get(r.id))), total: Number(n), limit, offset };
}

/** Model, extension (null frees it) and overrides; a pending device is assigned here by an operator giving an extension. */
export async function patchDevice(d: DeviceDeps, scope: Scope, id: string, input: unknown): Promise<DeviceView> {
  const device = await findDevice(d.knex, scope, id);
  if (!isPlainObject(input)) throw new ValidationError([{ field: 'body', reason: 'must be a JSON object' }]);
  const p = new Problems();
  rejectUnknown(p, input, PATCH_FIELDS);
  if ('mac' in input) p.add('mac', 'cannot change: enter the other phone as a new device');
  if (device.tenantId === null && (typeof input.extensionId !== 'string')) p.add('extensionId', 'is required: a pending device is assigned to an extension before anything else changes');
  const row: Record<string, unknown> = {};
  if ('model' in input) {
    const m = modelField(p, input.model);
    if (m) Object.assign(row, { vendor: m.vendor, model: m.model });
  }
  let tenantId = device.tenantId;
  const replace = replaceField(p, input.replace);
  let previous: InTheWay | null = null;
  if ('extensionId' in input) {
    if (input.extensionId === null) row.extension_id = null;
    else {
      const ext = await extensionField(d.knex, p, input.extensionId, device.tenantId);
      if (ext) {
        previous = await phoneInTheWay(d.knex, ext.id, id, replace);
        row.extension_id = ext.id;
        if (device.extensionId === null) Object.assign(row, freshProvisioningCredentials(d.secrets));
        if (tenantId === null) tenantId = row.tenant_id = ext.tenantId;
      }
    }
  }
  if ('overrides' in input) {
    const o = await overridesField(p, input.overrides);
    if (o) row.overrides = toJsonColumn(o);
  }
  const port1 = 'extension_id' in row ? (row.extension_id as string | null) : device.extensionId;
  const ports = 'ports' in input ? await portsField(d.knex, p, input.ports, (row.model as string | undefined) ?? device.model, tenantId, id, replace, port1) : null;
  // Port 1 freed: the other ports go with it, since a device's ports hang on its first.
  const freed = port1 === null && device.extensionId !== null;
  p.throwIfAny();
  row.updated_at = now();
  try {
    await d.knex.transaction(async (trx) => {
      if (previous) await unassign(trx, previous, row.updated_at as string);
      for (const other of ports?.previous ?? []) await unassign(trx, other, row.updated_at as string);
      await trx('devices').where('id', id).update(row);
      if (ports) await writePorts(trx, id, ports.ports);
      if (freed) await trx('device_ports').where('device_id', id).delete();
    });
  } catch (err) {
    translateUnique(err, DEVICE_UNIQUE);
  }
  await announceReplaced(d, previous, id, tenantId!, scope.actor, 'api', 'moved to its extension');
  for (const other of ports?.previous ?? []) await announceReplaced(d, other, id, tenantId!, scope.actor, 'api', 'moved to its extension');
  if ('extension_id' in row) {
    await recordDeviceEvent(d.knex, id, { kind: 'assigned', transport: 'api', source: scope.actor, result: row.extension_id ? 'assigned' : 'unassigned', detail: null });
  }
  d.changes.publish({ kind: 'device', id, tenantId: tenantId!, action: 'extension_id' in row ? 'reassigned' : 'updated', actor: scope.actor });
  return getDevice(d.knex, scope, id);
}

/**
 * A pending phone that keyed in a valid activation code becomes the phone of
 * that code's extension; a phone already on the extension is freed, since an
 * extension has one phone, and announced as `replaced` (its administrator is
 * emailed). For the registration service once it has checked the code.
 */
export async function activateDevice(d: DeviceDeps, deviceId: string, extensionId: string, actor: string): Promise<DeviceView> {
  const ext = await d.knex('extensions').where('id', extensionId).first('id', 'tenant_id');
  if (!ext) throw new NotFoundError('extension');
  const device = await d.knex('devices').where('id', deviceId).first('id', 'tenant_id', 'extension_id');
  if (!device) throw new NotFoundError('device');
  if (device.tenant_id !== null && device.tenant_id !== ext.tenant_id) throw new ConflictError('deviceId', 'belongs to another tenant');
  const at = now();
  // The person at the phone holds the extension's code: that is the choice `replace` stands for in the API.
  const previous = await phoneInTheWay(d.knex, extensionId, deviceId, true);
  await d.knex.transaction(async (trx) => {
    if (previous) await unassign(trx, previous, at);
    await trx('devices').where('id', deviceId).update({
      tenant_id: ext.tenant_id, extension_id: extensionId, updated_at: at, ...(device.extension_id === null ? freshProvisioningCredentials(d.secrets) : {}),
    });
  });
  await announceReplaced(d, previous, deviceId, ext.tenant_id, actor, 'sip', 'activated with the extension\'s code');
  await recordDeviceEvent(d.knex, deviceId, { kind: 'assigned', transport: 'sip', source: actor, result: 'assigned', detail: 'activated with a code' });
  d.changes.publish({ kind: 'device', id: deviceId, tenantId: ext.tenant_id, action: 'reassigned', actor });
  return deviceView(deviceFromRow(await d.knex('devices').where('id', deviceId).first()));
}
