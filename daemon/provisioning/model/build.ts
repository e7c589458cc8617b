import { effectiveSettings } from '../../admin/domain/extension';
import { displayName } from '../../admin/domain/profile';
import type { Extension, Site, Tenant, User } from '../../admin/store/rows';
import type { DeviceSettings, Endpoint, FirmwareImage, Key, Line, SettingsOverrides } from './settings';

/** What the daemon's configuration contributes: the same for every device. */
export interface ServerDefaults {
  /** The provisioning base URL phones fetch from, without a trailing slash. */
  provisioningUrl: string;
  sipHost: string;
  sipPort: number;
  ntpServers: string[];
  voicemailNumber: string;
  registrationServiceNumber: string;
  activationDomain: string;
  /** What phones ask their registrations to last, in seconds: the registrar's largest grant. */
  registrationExpiry: number;
}

export interface DeviceFacts {
  id: string;
  mac: string;
  vendor: string | null;
  model: string | null;
  provUsername: string;
  provPassword: string;
  activationUsername: string;
  activationPassword: string;
}

/** The records a provisioned device's settings come from; null for a pending device. */
export interface Assignment {
  tenant: Tenant;
  site: Site | null;
  user: User | null;
  extension: Extension;
  sipUsername: string;
  sipPassword: string;
}

/** An ATA's port 2 and up, each its own extension of the same tenant. */
export interface PortAssignment {
  port: number;
  user: User | null;
  extension: Extension;
  sipUsername: string;
  sipPassword: string;
}

export interface BuildInput {
  server: ServerDefaults;
  device: DeviceFacts;
  /** Port 1, or a phone's one line. */
  assignment: Assignment | null;
  ports?: PortAssignment[];
  /** Already merged: tenant, site, device. */
  overrides: SettingsOverrides;
  /** The image a firmware rollout targets the device with, if any. */
  firmware?: FirmwareImage | null;
}

/** Directed pickup as Asterisk (FreePBX) and FreeSWITCH (FusionPBX) dial plans ship it; a tenant overrides it with pickupPrefix. */
const DEFAULT_PICKUP_PREFIX = '**';

// Phones also check for a new file on their own this often, should a resync NOTIFY not reach them.
const RESYNC_MINUTES = 60;

/** Phones show names on one line: any run of whitespace, line breaks included, becomes one space. */
const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

/**
 * The one place a device's settings are decided. Pure: the same records give
 * the same settings, which is what lets rendered files be cached until one of
 * those records changes.
 */
export function buildDeviceSettings(input: BuildInput): DeviceSettings {
  const { server, device, assignment, overrides: o } = input;
  const transport = o.transport ?? 'udp';
  const registrar: Endpoint = { host: o.registrar?.host ?? server.sipHost, port: o.registrar?.port ?? server.sipPort, transport };
  const outboundProxy: Endpoint | null = o.outboundProxy ? { ...o.outboundProxy, transport } : null;
  const common = {
    device: { id: device.id, mac: device.mac, vendor: device.vendor, model: device.model },
    ntpServers: o.ntpServers ?? server.ntpServers,
    registrationServiceNumber: server.registrationServiceNumber,
    provisioning: { url: server.provisioningUrl, username: device.provUsername, password: device.provPassword, resyncMinutes: RESYNC_MINUTES },
    // The phone's own web and menu administrator: the device's provisioning secret, which its file already carries.
    adminPassword: device.provPassword,
    registrationExpiry: server.registrationExpiry,
    firmware: input.firmware ?? (o.firmwareUrl ? { url: o.firmwareUrl, version: null, fileName: o.firmwareUrl.slice(o.firmwareUrl.lastIndexOf('/') + 1) } : null),
  };
  if (!assignment) {
    // A pending phone: credentials that reach only the registration service, and a prompt saying what to dial.
    const line: Line = {
      index: 1, extension: device.activationUsername, displayName: 'Activate', label: 'Activate', domain: server.activationDomain,
      username: device.activationUsername, password: device.activationPassword, registrar, outboundProxy, fax: false,
    };
    return {
      ...common, mode: 'activation', lines: [line], codecs: o.codecs ?? ['G722', 'PCMU', 'PCMA'],
      timezone: o.timezone ?? 'UTC', language: o.language ?? 'en', voicemailNumber: server.registrationServiceNumber,
      keys: [{ index: 1, type: 'line', value: '1', label: 'Activate', module: 0 }, { index: 2, type: 'speed-dial', value: server.registrationServiceNumber, label: 'Activate', module: 0 }],
      pickupPrefix: o.pickupPrefix ?? DEFAULT_PICKUP_PREFIX,
      idleText: `Activate: dial ${server.registrationServiceNumber}`, directory: null,
    };
  }
  const { tenant, site, user, extension } = assignment;
  const lineOf = (index: number, a: { user: User | null; extension: Extension; sipUsername: string; sipPassword: string }): Line => {
    const effective = effectiveSettings(a.extension.settings, {
      number: a.extension.number,
      owner: a.user ?? { firstName: '', lastName: '', email: '' },
      siteAddress: site?.address ?? null,
      pinSet: a.extension.pinSealed !== null,
    });
    const name = oneLine(effective.callerId.name || (a.user ? displayName(a.user) : a.extension.number));
    return {
      index, extension: a.extension.number, displayName: name, label: `${a.extension.number} ${name}`.slice(0, 32).trim(),
      domain: tenant.sipDomain, username: a.sipUsername, password: a.sipPassword, registrar, outboundProxy, fax: effective.fax.machine,
    };
  };
  const line = lineOf(1, assignment);
  const ports = [...(input.ports ?? [])].sort((a, b) => a.port - b.port).map((p) => lineOf(p.port, p));
  const keys: Key[] = (o.keys ?? [{ index: 1, type: 'line', value: '1', label: line.label, module: 0 }]).map((k) => ({ ...k, label: oneLine(k.label || (k.type === 'line' ? line.label : k.value)) }));
  return {
    ...common, mode: 'full', lines: [line, ...ports], codecs: o.codecs ?? extension.settings.codecs,
    timezone: o.timezone ?? site?.timezone ?? 'UTC', language: o.language ?? user?.language ?? site?.language ?? 'en',
    voicemailNumber: o.voicemailNumber ?? server.voicemailNumber, keys, pickupPrefix: o.pickupPrefix ?? DEFAULT_PICKUP_PREFIX,
    idleText: o.idleText !== undefined ? o.idleText : null,
    directory: o.directory === false ? null : { title: oneLine(tenant.name) },
  };
}
