import type { Codec } from '../../admin/domain/extension';
import type { Key } from '../../admin/domain/keys';

export type { Key, KeyType } from '../../admin/domain/keys';

export type Transport = 'udp' | 'tcp' | 'tls';

export interface Endpoint {
  host: string;
  port: number;
  transport: Transport;
}

export interface Line {
  index: number;
  extension: string;
  displayName: string;
  /** Shown on the phone's line key. */
  label: string;
  domain: string;
  username: string;
  password: string;
  registrar: Endpoint;
  outboundProxy: Endpoint | null;
  /** An analog fax machine is on this line (an ATA port): fax-friendly media settings instead of voice ones. */
  fax: boolean;
}

/** The image a phone is told to run: a rollout's (with its version), or an operator's own URL (`firmwareUrl`, version unknown). */
export interface FirmwareImage {
  url: string;
  version: string | null;
  fileName: string;
}

/**
 * Everything a phone of any vendor is told, in one vendor-neutral shape.
 * Templates read only this; vendor spellings come from the family data.
 */
export interface DeviceSettings {
  /** `activation`: a pending phone that can only call the registration service. */
  mode: 'full' | 'activation';
  device: { id: string; mac: string; vendor: string | null; model: string | null };
  /** One per extension: a phone's one line, or an ATA's ports in order (`index` is the port number). */
  lines: Line[];
  codecs: Codec[];
  /** Olson name; each template writes it in its vendor's form (model/timezone.ts). */
  timezone: string;
  ntpServers: string[];
  language: string;
  voicemailNumber: string;
  registrationServiceNumber: string;
  keys: Key[];
  /** Dialled before a watched extension to pick up its ringing call from a BLF key. */
  pickupPrefix: string;
  /** What the phone fetches its files from, the credentials it must send once provisioned, and how often it checks on its own. */
  provisioning: { url: string; username: string; password: string; resyncMinutes: number };
  /** The password of the phone's own web interface and administrator menu. */
  adminPassword: string;
  /** Seconds a registration is asked to last. */
  registrationExpiry: number;
  firmware: FirmwareImage | null;
  /** Text the phone shows when idle: the activation prompt for a pending phone. */
  idleText: string | null;
  /** The tenant's corporate directory, which the phone is pointed at; null when it is off or the phone is pending. */
  directory: { title: string } | null;
}

/** What an operator may override per tenant, site or device; later scopes win. */
export interface SettingsOverrides {
  codecs?: Codec[];
  timezone?: string;
  ntpServers?: string[];
  language?: string;
  voicemailNumber?: string;
  transport?: Transport;
  registrar?: { host?: string; port?: number };
  outboundProxy?: { host: string; port: number } | null;
  keys?: Key[];
  pickupPrefix?: string;
  /** The URL of an image on the operator's own server; a rollout that targets the device wins over it. */
  firmwareUrl?: string | null;
  idleText?: string | null;
  /** false: phones in this scope get no corporate directory. */
  directory?: boolean;
}
