import type { Knex } from 'knex';
import { newId, now } from '../../core/ids';
import type { SecretBox } from '../../crypto/secret-box';
import { randomString } from '../../crypto/random';
import { fromJsonColumn, toJsonColumn } from '../../storage/json';
import type { Mac } from '../mac';
import type { SettingsOverrides } from '../model/settings';

export interface Device {
  id: string;
  tenantId: string | null;
  mac: Mac;
  vendor: string | null;
  model: string | null;
  extensionId: string | null;
  overrides: SettingsOverrides;
  activationUsername: string;
  activationPasswordSealed: string;
  provUsername: string;
  provPasswordSealed: string;
  credentialsSentAt: string | null;
  lastSeenAt: string | null;
  lastSource: string | null;
  /** The firmware version its User-Agent last reported. */
  firmwareVersion: string | null;
  createdAt: string;
  updatedAt: string;
}

type Row = Record<string, any>;

export const deviceFromRow = (r: Row): Device => ({
  id: r.id, tenantId: r.tenant_id ?? null, mac: r.mac, vendor: r.vendor ?? null, model: r.model ?? null,
  extensionId: r.extension_id ?? null, overrides: fromJsonColumn<SettingsOverrides>(r.overrides, {}),
  activationUsername: r.activation_username, activationPasswordSealed: r.activation_password_sealed,
  provUsername: r.prov_username, provPasswordSealed: r.prov_password_sealed, credentialsSentAt: r.credentials_sent_at ?? null,
  lastSeenAt: r.last_seen_at ?? null, lastSource: r.last_source ?? null, firmwareVersion: r.firmware_version ?? null, createdAt: r.created_at, updatedAt: r.updated_at,
});

export const DEVICE_UNIQUE = {
  'devices.mac': { field: 'mac', reason: 'is already a device' },
  'devices.extension_id': { field: 'extensionId', reason: 'already has a phone (one phone per extension)' },
  'device_ports.extension_id': { field: 'ports', reason: 'names an extension that already has a phone (one phone per extension)' },
};

/** Every device gets its own activation and provisioning credentials when it is first recorded; neither is ever shared. */
export function newDeviceRow(secrets: SecretBox, f: { mac: Mac; tenantId: string | null; vendor: string | null; model: string | null; extensionId: string | null; overrides?: SettingsOverrides }): Record<string, unknown> {
  const at = now();
  return {
    id: newId(), tenant_id: f.tenantId, mac: f.mac, vendor: f.vendor, model: f.model, extension_id: f.extensionId,
    overrides: toJsonColumn(f.overrides ?? {}),
    // The MAC in the username lets an operator read a registrar log; the random tail keeps it unguessable from the MAC alone.
    activation_username: `act${f.mac}${randomString(4, 'abcdefghjkmnpqrstuvwxyz23456789')}`,
    activation_password_sealed: secrets.seal(randomString(24)),
    prov_username: `prov${f.mac}`,
    prov_password_sealed: secrets.seal(randomString(24)),
    credentials_sent_at: null, last_seen_at: null, last_source: null, created_at: at, updated_at: at,
  };
}

/**
 * New provisioning credentials, not yet delivered: for a device put on an
 * extension from pending or unassigned, so whoever fetched its files before
 * (a scan of MACs, say) holds nothing that opens the extension's file.
 */
export function freshProvisioningCredentials(secrets: SecretBox): Record<string, unknown> {
  return { prov_password_sealed: secrets.seal(randomString(24)), credentials_sent_at: null };
}

export async function deviceByMac(knex: Knex, mac: Mac): Promise<Device | null> {
  const row = await knex('devices').where('mac', mac).first();
  return row ? deviceFromRow(row) : null;
}

export async function deviceById(knex: Knex, id: string): Promise<Device | null> {
  const row = await knex('devices').where('id', id).first();
  return row ? deviceFromRow(row) : null;
}

/** The phone on each of these extensions (as its extension, or on a port of an ATA); an extension without one is absent from the map. */
export async function devicesForExtensions(knex: Knex, extensionIds: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  // Chunks stay under every engine's limit on bound parameters.
  for (let i = 0; i < extensionIds.length; i += 500) {
    const chunk = extensionIds.slice(i, i + 500);
    const ports = await knex('device_ports').whereIn('extension_id', chunk).select('extension_id', 'device_id');
    for (const r of ports) found.set(r.extension_id, r.device_id);
    const own = await knex('devices').whereIn('extension_id', chunk).select('extension_id', 'id');
    for (const r of own) found.set(r.extension_id, r.id);
  }
  return found;
}

/** The phone on an extension (as its extension, or on a port of an ATA), for a resync after the extension changes; null when it has none. */
export async function deviceForExtension(knex: Knex, extensionId: string): Promise<Device | null> {
  const row = await knex('devices').where('extension_id', extensionId).first()
    ?? await knex('devices').whereIn('id', knex('device_ports').where('extension_id', extensionId).select('device_id')).first();
  return row ? deviceFromRow(row) : null;
}
