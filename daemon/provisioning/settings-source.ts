import type { Knex } from 'knex';
import type { Config } from '../config/options';
import { extensionFromRow, siteFromRow, tenantFromRow, userFromRow } from '../admin/store/rows';
import type { SecretBox } from '../crypto/secret-box';
import { fromJsonColumn } from '../storage/json';
import { type Assignment, type PortAssignment, type ServerDefaults, buildDeviceSettings } from './model/build';
import { mergeOverrides } from './model/overrides';
import type { DeviceSettings, SettingsOverrides } from './model/settings';
import type { Device } from './store/devices';
import { firmwareTarget } from '../firmware/service';
import { findModel } from './vendors/match';

export const PROV_PREFIX = '/prov';

/** `host:port`, the host possibly an IPv6 address without brackets. */
export function splitHostPort(address: string): { host: string; port: number } {
  const cut = address.lastIndexOf(':');
  return { host: address.slice(0, cut).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(cut + 1)) };
}

/**
 * What phones are told about the server. The registrar is whatever the SIP
 * service says it is (the engine's bound port; drachtio-server's, not
 * DIALTONE_SIP_PORT, with that engine), so phone files and `sip-credentials`
 * can never disagree.
 */
export function serverDefaults(config: Config, registrarAddress: () => string): ServerDefaults {
  return {
    provisioningUrl: `${config.publicUrl}${PROV_PREFIX}`,
    get sipHost() {
      return splitHostPort(registrarAddress()).host;
    },
    get sipPort() {
      return splitHostPort(registrarAddress()).port;
    },
    ntpServers: config.ntpServers,
    voicemailNumber: config.voicemailNumber,
    registrationServiceNumber: config.registrationService,
    activationDomain: config.activationDomain,
    registrationExpiry: config.sipExpiresMax,
  };
}

export interface LoadedSettings {
  settings: DeviceSettings;
  /** Ids of every record the settings were built from: a change to any of them drops the cached files. */
  dependsOn: string[];
  /** The newest update among those records, for Last-Modified. */
  lastModified: string;
}

async function overridesFor(knex: Knex, scope: 'tenant' | 'site', id: string | null): Promise<{ o: SettingsOverrides | null; at: string | null }> {
  if (!id) return { o: null, at: null };
  const row = await knex('provisioning_overrides').where({ scope, scope_id: id }).first();
  return row ? { o: fromJsonColumn<SettingsOverrides>(row.settings, {}), at: row.updated_at } : { o: null, at: null };
}

async function assignmentOf(knex: Knex, secrets: SecretBox, device: Device): Promise<Assignment | null> {
  if (!device.extensionId || !device.tenantId) return null;
  const extRow = await knex('extensions').where({ id: device.extensionId, tenant_id: device.tenantId }).first();
  if (!extRow) return null;
  const extension = extensionFromRow(extRow);
  const tenant = tenantFromRow(await knex('tenants').where('id', extension.tenantId).first());
  const userRow = extension.userId ? await knex('users').where('id', extension.userId).first() : null;
  const user = userRow ? userFromRow(userRow) : null;
  const siteId = extension.siteId ?? user?.siteId ?? null;
  const siteRow = siteId ? await knex('sites').where('id', siteId).first() : null;
  return {
    tenant, user, extension, site: siteRow ? siteFromRow(siteRow) : null,
    sipUsername: extension.sipUsername, sipPassword: secrets.open(extension.sipPasswordSealed),
  };
}

/** An ATA's ports 2 and up, each with its extension and that extension's profile. */
async function portsOf(knex: Knex, secrets: SecretBox, deviceId: string, tenantId: string): Promise<PortAssignment[]> {
  const rows = await knex('device_ports').join('extensions', 'extensions.id', 'device_ports.extension_id')
    .where({ 'device_ports.device_id': deviceId, 'extensions.tenant_id': tenantId }).select('device_ports.port as port_number', 'extensions.*').orderBy('device_ports.port');
  const out: PortAssignment[] = [];
  for (const r of rows) {
    const extension = extensionFromRow(r);
    const userRow = extension.userId ? await knex('users').where('id', extension.userId).first() : null;
    out.push({ port: Number(r.port_number), extension, user: userRow ? userFromRow(userRow) : null, sipUsername: extension.sipUsername, sipPassword: secrets.open(extension.sipPasswordSealed) });
  }
  return out;
}

function extensionKeys(assignment: Assignment | null): SettingsOverrides | null {
  const keys = assignment?.extension.settings.keys;
  return keys && keys.length > 0 ? { keys } : null;
}

/** Reads the records a device's settings come from and builds them. */
export async function loadDeviceSettings(knex: Knex, secrets: SecretBox, server: ServerDefaults, device: Device): Promise<LoadedSettings> {
  const assignment = await assignmentOf(knex, secrets, device);
  const ports = assignment ? await portsOf(knex, secrets, device.id, assignment.tenant.id) : [];
  const tenantO = await overridesFor(knex, 'tenant', assignment?.tenant.id ?? null);
  const siteO = await overridesFor(knex, 'site', assignment?.site?.id ?? null);
  const model = device.model ? (findModel(device.model)?.model.name ?? null) : null;
  const firmware = await firmwareTarget(knex, { id: device.id, mac: device.mac, model, tenantId: device.tenantId, siteId: assignment?.site?.id ?? null }, server.provisioningUrl);
  const settings = buildDeviceSettings({
    server, assignment, ports,
    device: {
      id: device.id, mac: device.mac, vendor: device.vendor, model: device.model,
      provUsername: device.provUsername, provPassword: secrets.open(device.provPasswordSealed),
      activationUsername: device.activationUsername, activationPassword: secrets.open(device.activationPasswordSealed),
    },
    // An extension's keys belong to whoever uses it: above the tenant's and site's, below the device's own.
    overrides: mergeOverrides(assignment ? tenantO.o : null, assignment ? siteO.o : null, extensionKeys(assignment), device.overrides),
    firmware,
  });
  const stamps = [device.updatedAt, tenantO.at, siteO.at];
  const dependsOn = [device.id];
  if (assignment) {
    const { tenant, site, user, extension } = assignment;
    stamps.push(tenant.updatedAt, extension.updatedAt, extension.sipRotatedAt, site?.updatedAt ?? null, user?.updatedAt ?? null);
    dependsOn.push(tenant.id, extension.id, ...(site ? [site.id] : []), ...(user ? [user.id] : []));
    for (const p of ports) {
      stamps.push(p.extension.updatedAt, p.extension.sipRotatedAt, p.user?.updatedAt ?? null);
      dependsOn.push(p.extension.id, ...(p.user ? [p.user.id] : []));
    }
  }
  const lastModified = stamps.filter((s): s is string => s !== null).sort().at(-1)!;
  return { settings, dependsOn, lastModified };
}
