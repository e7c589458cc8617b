import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { PortRange } from '../media/ports';
import { parsePbxUri } from '../sip/proxy/pbx-uri';
import { parseRedisUrl } from '../storage/redis-client';

/**
 * Every setting dialtone reads, as data: the README documents each row, and
 * a test holds the two together so an option cannot ship undocumented.
 */
export interface Config {
  dataDir: string;
  dbUrl: string;
  redisUrl: string | null;
  httpHost: string;
  httpPort: number;
  tftpHost: string;
  tftpPort: number;
  sipHost: string;
  sipPort: number;
  sipEngine: 'builtin' | 'drachtio';
  drachtioHost: string;
  drachtioPort: number;
  drachtioSecret: string | null;
  sipPublicHost: string;
  sipTransports: SipTransportName[];
  sipWsPort: number;
  sipDigestAlgorithms: DigestAlgorithmName[];
  sipNonceSeconds: number;
  sipExpiresMin: number;
  sipExpiresMax: number;
  sipMaxContacts: number;
  sipLockoutUser: number;
  sipLockoutSource: number;
  sipLockoutSeconds: number;
  sipWorkers: number;
  sipTimerC: number;
  publicHost: string;
  publicUrl: string;
  smtpUrl: string | null;
  mailFrom: string | null;
  mailTemplatesDir: string;
  secretKey: string | null;
  logLevel: LogLevel;
  asteriskDbUrl: string | null;
  freeswitchAuth: string | null;
  tftpAllow: string[];
  httpsPort: number | null;
  tlsCert: string | null;
  tlsKey: string | null;
  firmwareDir: string;
  firmwareImagesDir: string;
  firmwareMaxMb: number;
  firmwareStuckMinutes: number;
  activationDomain: string;
  registrationService: string;
  mediaHost: string;
  rtpPorts: PortRange;
  promptsDir: string | null;
  promptsLanguage: string;
  voicemailNumber: string;
  ntpServers: string[];
  provRateLimit: number;
  pendingDeviceDays: number;
  pbxUri: string | null;
  emergencyNumbers: string[];
  drainSeconds: number;
  metricsListen: { host: string; port: number } | null;
}

export type SipTransportName = 'udp' | 'tcp' | 'ws';
export type DigestAlgorithmName = 'MD5' | 'SHA-256';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface OptionSpec<K extends keyof Config = keyof Config> {
  key: K;
  env: string;
  /** What the README shows as the default. */
  defaultText: string;
  description: string;
  /** Default computed from the options already resolved (data dir, ports). */
  fallback: (resolved: Partial<Config>) => Config[K];
  /** Returns the value or throws OptionError with the reason. */
  parse: (raw: string) => Config[K];
}

export class OptionError extends Error {}

function port(raw: string): number {
  if (!/^\d{1,5}$/.test(raw)) throw new OptionError(`must be a port number from 1 to 65535, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < 1 || n > 65535) throw new OptionError(`must be a port number from 1 to 65535, got ${raw}`);
  return n;
}

function host(raw: string): string {
  if (!/^[A-Za-z0-9.:\-\[\]]{1,253}$/.test(raw)) throw new OptionError(`must be a host name or IP address, got ${JSON.stringify(raw)}`);
  return raw.replace(/^\[(.*)\]$/, '$1');
}

function url(protocols: string[]) {
  return (raw: string): string => {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new OptionError(`must be a URL (${protocols.join(', ')}), got ${JSON.stringify(raw)}`);
    }
    if (!protocols.includes(u.protocol.replace(/:$/, ''))) {
      throw new OptionError(`must use one of ${protocols.join(', ')}, got ${u.protocol.replace(/:$/, '')}`);
    }
    return raw;
  };
}

function integer(min: number, max: number) {
  return (raw: string): number => {
    if (!/^\d{1,9}$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new OptionError(`must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return Number(raw);
  };
}

/** A comma-separated list of distinct values, each one of `allowed`, in the order given. */
function listOf<T extends string>(allowed: readonly T[], caseless = false) {
  return (raw: string): T[] => {
    const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (items.length === 0) throw new OptionError(`must list at least one of ${allowed.join(', ')}`);
    const out: T[] = [];
    for (const item of items) {
      const found = allowed.find((a) => (caseless ? a.toLowerCase() === item.toLowerCase() : a === item));
      if (!found) throw new OptionError(`must list values among ${allowed.join(', ')}, got ${JSON.stringify(item)}`);
      if (out.includes(found)) throw new OptionError(`lists ${found} twice`);
      out.push(found);
    }
    return out;
  };
}

function nonEmpty(raw: string): string {
  if (raw.trim() === '') throw new OptionError('must not be empty');
  return raw;
}

function file(raw: string): string {
  return path.resolve(nonEmpty(raw));
}

function dialNumber(raw: string): string {
  if (!/^\+?[0-9*#]{1,32}$/.test(raw)) throw new OptionError(`must be a number to dial such as *97, got ${JSON.stringify(raw)}`);
  return raw;
}

/** `10.0.0.0/8,192.168.1.7,fd00::/8`: checked here so a typo stops the daemon instead of opening or closing TFTP silently. */
function networks(raw: string): string[] {
  const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new OptionError('must list at least one network, such as 10.0.0.0/8');
  for (const n of list) {
    const [addr, bits, extra] = n.split('/');
    const family = net.isIP(addr ?? '');
    const max = family === 6 ? 128 : 32;
    if (!family || extra !== undefined || (bits !== undefined && (!/^\d{1,3}$/.test(bits) || Number(bits) > max))) {
      throw new OptionError(`must be comma-separated addresses or networks (a.b.c.d/n, x::/n), got ${JSON.stringify(n)}`);
    }
  }
  return list;
}

/** `16384-32767`: RTP takes even ports and RTCP the odd one after each (RFC 3550 §11). */
function portRange(raw: string): PortRange {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(raw.trim());
  if (!m) throw new OptionError(`must be <low>-<high>, such as 16384-32767, got ${JSON.stringify(raw)}`);
  const min = Number(m[1]);
  const max = Number(m[2]);
  if (min < 1024 || max > 65535 || min > max) throw new OptionError(`must be a range within 1024-65535, low to high, got ${raw}`);
  if (min + (min % 2) + 1 > max) throw new OptionError(`must hold an even port and the odd one after it, got ${raw}`);
  return { min, max };
}

/** Numbers a phone may always dial, whatever its calling permission: digits only, as dialed. */
function emergencyNumbers(raw: string): string[] {
  const list = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (list.length === 0) throw new OptionError('must list at least one emergency number, such as 911');
  for (const n of list) {
    if (!/^[0-9]{2,6}$/.test(n)) throw new OptionError(`must be comma-separated numbers of 2 to 6 digits, got ${JSON.stringify(n)}`);
  }
  return [...new Set(list)];
}

/** `127.0.0.1:9464` or `[::1]:9464`. */
function hostPort(raw: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:\[\]]+):(\d{1,5})$/.exec(raw);
  if (!m) throw new OptionError(`must be host:port, such as 127.0.0.1:9464 or [::1]:9464, got ${JSON.stringify(raw)}`);
  return { host: host(m[1]!), port: port(m[2]!) };
}

function positive(raw: string): number {
  if (!/^\d{1,6}$/.test(raw) || Number(raw) < 1) throw new OptionError(`must be a whole number from 1 to 999999, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** Where phones on the LAN reach this machine when nobody said: its first IPv4 address that is not loopback. */
export function machineAddress(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

const urlHost = (h: string) => (net.isIPv6(h) ? `[${h}]` : h);
const isWildcard = (h: string) => h === '0.0.0.0' || h === '::';

function opt<K extends keyof Config>(spec: OptionSpec<K>): OptionSpec<K> {
  return spec;
}

export const OPTIONS = [
  opt({
    key: 'dataDir', env: 'DIALTONE_DATA_DIR', defaultText: './var',
    description: 'Folder for the SQLite database, the generated secret key, the mail outbox and firmware files.',
    fallback: () => path.resolve('var'), parse: (raw) => path.resolve(nonEmpty(raw)),
  }),
  opt({
    key: 'dbUrl', env: 'DIALTONE_DB_URL', defaultText: 'sqlite://<data dir>/dialtone.sqlite',
    description: 'Database: `sqlite:///abs/path.sqlite`, `sqlite://relative.sqlite`, or `mysql://user:pass@host:3306/dialtone` for MariaDB/MySQL.',
    fallback: (r) => `sqlite://${path.join(r.dataDir ?? path.resolve('var'), 'dialtone.sqlite')}`,
    parse: url(['sqlite', 'mysql', 'mariadb']),
  }),
  opt({
    key: 'redisUrl', env: 'DIALTONE_REDIS_URL', defaultText: 'unset (in-process registration cache)',
    description: 'Redis for SIP registrations and rate-limit counters, shared by several dialtone processes: one server `redis://[:password@]127.0.0.1:6379/0` (`rediss://` over TLS), a Redis Cluster `redis+cluster://[:password@]10.0.0.1:6379,10.0.0.2:6379/` (any of its masters; the rest are discovered), or a master found through Sentinel `redis+sentinel://[:password@]10.0.0.1:26379,10.0.0.2:26379/<master name>[/db]` (the password is the master\'s; sentinels without one).',
    fallback: () => null,
    parse: (raw) => {
      const parsed = parseRedisUrl(raw);
      if (!parsed.ok) throw new OptionError(parsed.reason);
      return raw;
    },
  }),
  opt({
    key: 'httpHost', env: 'DIALTONE_HTTP_HOST', defaultText: '0.0.0.0',
    description: 'Address the HTTP server (admin API, provisioning files, password pages) listens on.',
    fallback: () => '0.0.0.0', parse: host,
  }),
  opt({
    key: 'httpPort', env: 'DIALTONE_HTTP_PORT', defaultText: '8080',
    description: 'HTTP port.', fallback: () => 8080, parse: port,
  }),
  opt({
    key: 'tftpHost', env: 'DIALTONE_TFTP_HOST', defaultText: '0.0.0.0',
    description: 'Address the TFTP server listens on.', fallback: () => '0.0.0.0', parse: host,
  }),
  opt({
    key: 'tftpPort', env: 'DIALTONE_TFTP_PORT', defaultText: '6969',
    description: 'TFTP port (phones ask on 69: redirect it, or grant the capability, see systemd/).',
    fallback: () => 6969, parse: port,
  }),
  opt({
    key: 'sipHost', env: 'DIALTONE_SIP_HOST', defaultText: '0.0.0.0',
    description: 'Address the built-in SIP engine listens on (UDP and TCP).', fallback: () => '0.0.0.0', parse: host,
  }),
  opt({
    key: 'sipPort', env: 'DIALTONE_SIP_PORT', defaultText: '5060',
    description: 'SIP port of the built-in engine.', fallback: () => 5060, parse: port,
  }),
  opt({
    key: 'sipEngine', env: 'DIALTONE_SIP_ENGINE', defaultText: 'builtin',
    description: 'SIP engine: `builtin` (SIP inside the daemon) or `drachtio` (a drachtio-server at the drachtio host and port, which owns the SIP ports).',
    fallback: () => 'builtin' as const,
    parse: (raw) => {
      if (raw !== 'builtin' && raw !== 'drachtio') throw new OptionError(`must be builtin or drachtio, got ${JSON.stringify(raw)}`);
      return raw;
    },
  }),
  opt({
    key: 'drachtioHost', env: 'DIALTONE_DRACHTIO_HOST', defaultText: '127.0.0.1',
    description: 'Address of the drachtio-server admin port, with `DIALTONE_SIP_ENGINE=drachtio`.', fallback: () => '127.0.0.1', parse: host,
  }),
  opt({
    key: 'drachtioPort', env: 'DIALTONE_DRACHTIO_PORT', defaultText: '9022',
    description: 'drachtio-server admin port.', fallback: () => 9022, parse: port,
  }),
  opt({
    key: 'drachtioSecret', env: 'DIALTONE_DRACHTIO_SECRET', defaultText: 'unset (required with the drachtio engine)',
    description: 'Shared secret of the drachtio-server admin connection.', fallback: () => null, parse: nonEmpty,
  }),
  opt({
    key: 'sipTransports', env: 'DIALTONE_SIP_TRANSPORTS', defaultText: 'udp,tcp,ws',
    description: 'SIP transports of the built-in engine: any of `udp`, `tcp` (both on the SIP port) and `ws` (RFC 7118, on the WebSocket port).',
    fallback: () => ['udp', 'tcp', 'ws'] as SipTransportName[], parse: listOf<SipTransportName>(['udp', 'tcp', 'ws'], true),
  }),
  opt({
    key: 'sipWsPort', env: 'DIALTONE_SIP_WS_PORT', defaultText: '5066',
    description: 'Port of SIP over WebSocket (`ws://host:port`, subprotocol `sip`) for browser and sip.js softphones.',
    fallback: () => 5066, parse: port,
  }),
  opt({
    key: 'sipDigestAlgorithms', env: 'DIALTONE_SIP_DIGEST_ALGORITHMS', defaultText: 'MD5,SHA-256',
    description: 'Digest challenges the registrar sends, in this order. Many phones and sipp answer only the first, so MD5 comes first unless every phone does SHA-256.',
    fallback: () => ['MD5', 'SHA-256'] as DigestAlgorithmName[], parse: listOf<DigestAlgorithmName>(['MD5', 'SHA-256'], true),
  }),
  opt({
    key: 'sipNonceSeconds', env: 'DIALTONE_SIP_NONCE_SECONDS', defaultText: '300',
    description: 'How long a digest nonce is accepted; after that the phone is answered `stale=true` and retries with a new one.',
    fallback: () => 300, parse: integer(5, 86_400),
  }),
  opt({
    key: 'sipExpiresMin', env: 'DIALTONE_SIP_EXPIRES_MIN', defaultText: '60',
    description: 'Shortest registration accepted, in seconds; shorter requests get `423 Interval Too Brief`.',
    fallback: () => 60, parse: integer(1, 86_400),
  }),
  opt({
    key: 'sipExpiresMax', env: 'DIALTONE_SIP_EXPIRES_MAX', defaultText: '3600',
    description: 'Longest registration granted, in seconds (longer requests are shortened); also the default when a REGISTER names none.',
    fallback: () => 3600, parse: integer(1, 604_800),
  }),
  opt({
    key: 'sipMaxContacts', env: 'DIALTONE_SIP_MAX_CONTACTS', defaultText: '5',
    description: 'Most contacts registered at once per extension; a new one replaces the one closest to expiring.',
    fallback: () => 5, parse: integer(1, 100),
  }),
  opt({
    key: 'sipLockoutUser', env: 'DIALTONE_SIP_LOCKOUT_USER', defaultText: '10',
    description: 'Failed SIP authentications for one username before it is refused for the cool-down.',
    fallback: () => 10, parse: integer(1, 1_000_000),
  }),
  opt({
    key: 'sipLockoutSource', env: 'DIALTONE_SIP_LOCKOUT_SOURCE', defaultText: '30',
    description: 'Failed SIP authentications from one IP address before it is refused for the cool-down.',
    fallback: () => 30, parse: integer(1, 1_000_000),
  }),
  opt({
    key: 'sipLockoutSeconds', env: 'DIALTONE_SIP_LOCKOUT_SECONDS', defaultText: '900',
    description: 'Cool-down, in seconds, counted from the first failure: failures older than this are forgotten.',
    fallback: () => 900, parse: integer(1, 86_400),
  }),
  opt({
    key: 'sipWorkers', env: 'DIALTONE_SIP_WORKERS', defaultText: '0',
    description: 'Extra processes that answer REGISTER on the same UDP socket, for registration storms beyond one core. Needs `DIALTONE_REDIS_URL`, the built-in engine and UDP.',
    fallback: () => 0, parse: integer(0, 64),
  }),
  opt({
    key: 'sipTimerC', env: 'DIALTONE_SIP_TIMER_C', defaultText: '181',
    description: 'Seconds a relayed call may ring without an answer before dialtone cancels it (Timer C of RFC 3261, more than three minutes by the RFC; shorter only for tests).',
    fallback: () => 181, parse: integer(1, 3600),
  }),
  opt({
    key: 'publicHost', env: 'DIALTONE_PUBLIC_HOST', defaultText: 'this machine\'s first IPv4 address that is not loopback',
    description: 'The host name or address phones and people reach dialtone at. Every address phones are told (provisioning URL, SIP registrar, activation domain) and emailed links are derived from it unless set on its own; the start-up log prints them.',
    fallback: () => machineAddress(), parse: host,
  }),
  opt({
    key: 'publicUrl', env: 'DIALTONE_PUBLIC_URL', defaultText: 'http://<public host>:<http port>',
    description: 'Base URL of dialtone\'s web side as phones and people reach it: provisioning server URLs, emailed links, the SCIM base URL.',
    fallback: (r) => `http://${urlHost(r.publicHost ?? '127.0.0.1')}:${r.httpPort ?? 8080}`,
    parse: (raw) => url(['http', 'https'])(raw).replace(/\/+$/, ''),
  }),
  opt({
    key: 'sipPublicHost', env: 'DIALTONE_SIP_PUBLIC_HOST', defaultText: 'the SIP host, or the public host when that is 0.0.0.0',
    description: 'Host of the SIP registrar phones are given (in their files and by `sip-credentials`), and that dialtone puts in its Via and Contact headers.',
    fallback: (r) => (r.sipHost && !isWildcard(r.sipHost) ? r.sipHost : r.publicHost ?? '127.0.0.1'), parse: host,
  }),
  opt({
    key: 'smtpUrl', env: 'DIALTONE_SMTP_URL', defaultText: 'unset (mail is written to <data dir>/outbox as .eml files)',
    description: 'SMTP server for outgoing mail: `smtp://user:pass@host:587` or `smtps://…`.',
    fallback: () => null, parse: url(['smtp', 'smtps']),
  }),
  opt({
    key: 'mailFrom', env: 'DIALTONE_MAIL_FROM', defaultText: 'dialtone@<host of the public URL> when that is a domain name, else dialtone@localhost',
    description: 'Sender address of the welcome and password emails, such as `Phones <phones@example.com>`. Set it when mail goes out over SMTP: many servers refuse a sender at localhost.',
    fallback: () => null, parse: (raw) => {
      if (!/@/.test(raw) || /[\r\n]/.test(raw)) throw new OptionError(`must be an email address, got ${JSON.stringify(raw)}`);
      return raw;
    },
  }),
  opt({
    key: 'mailTemplatesDir', env: 'DIALTONE_MAIL_TEMPLATES_DIR', defaultText: '<data dir>/mail-templates',
    description: 'Folder of Eta templates that replace the built-in emails: `welcome.subject.eta`, `welcome.txt.eta`, `welcome.html.eta`, and the same for `reset`.',
    fallback: (r) => path.join(r.dataDir ?? path.resolve('var'), 'mail-templates'), parse: (raw) => path.resolve(nonEmpty(raw)),
  }),
  opt({
    key: 'secretKey', env: 'DIALTONE_SECRET_KEY', defaultText: 'unset (generated into <data dir>/secret.key, with a warning)',
    description: 'Key that encrypts SIP passwords and voicemail PINs at rest: 64 hex digits or 44 base64 characters (32 bytes).',
    fallback: () => null,
    parse: (raw) => {
      const hex = /^[0-9a-fA-F]{64}$/.test(raw);
      const b64 = /^[A-Za-z0-9+/]{43}=$/.test(raw);
      if (!hex && !b64) throw new OptionError('must be 32 bytes as 64 hex digits or 44 base64 characters');
      return raw;
    },
  }),
  opt({
    key: 'logLevel', env: 'DIALTONE_LOG_LEVEL', defaultText: 'info',
    description: `Log level: ${LOG_LEVELS.join(', ')}.`,
    fallback: () => 'info' as LogLevel,
    parse: (raw) => {
      if (!(LOG_LEVELS as readonly string[]).includes(raw)) throw new OptionError(`must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(raw)}`);
      return raw as LogLevel;
    },
  }),
  opt({
    key: 'asteriskDbUrl', env: 'DIALTONE_ASTERISK_DB_URL', defaultText: 'unset (no Asterisk sync)',
    description: 'The Asterisk realtime database (MariaDB/MySQL, the schema of Asterisk\'s own migrations): extensions, caller ID and voicemail are written there on every change: `mysql://asterisk:pass@127.0.0.1:3306/asterisk_config`.',
    fallback: () => null, parse: url(['mysql', 'mariadb']),
  }),
  opt({
    key: 'freeswitchAuth', env: 'DIALTONE_FREESWITCH_AUTH', defaultText: 'unset (no FreeSWITCH directory)',
    description: '`user:password` that FreeSWITCH mod_xml_curl sends (gateway-credentials) to `POST /pbx/freeswitch/directory`; setting it turns the directory on. The password has 12 to 128 characters without spaces.',
    fallback: () => null,
    parse: (raw) => {
      if (!/^[^:\s]{1,64}:\S{12,128}$/.test(raw)) throw new OptionError('must be user:password with a password of 12 to 128 characters and no spaces');
      return raw;
    },
  }),
  opt({
    key: 'tftpAllow', env: 'DIALTONE_TFTP_ALLOW', defaultText: '127.0.0.0/8,::1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7',
    description: 'Networks TFTP answers, comma-separated. TFTP has no authentication: keep it to the phones\' networks.',
    fallback: () => ['127.0.0.0/8', '::1', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'], parse: networks,
  }),
  opt({
    key: 'httpsPort', env: 'DIALTONE_HTTPS_PORT', defaultText: 'unset (no HTTPS listener)',
    description: 'HTTPS port for provisioning and the API, with DIALTONE_TLS_CERT and DIALTONE_TLS_KEY; phones may then use basic authentication.',
    fallback: () => null, parse: port,
  }),
  opt({
    key: 'tlsCert', env: 'DIALTONE_TLS_CERT', defaultText: 'unset',
    description: 'PEM certificate chain file for the HTTPS listener.', fallback: () => null, parse: file,
  }),
  opt({
    key: 'tlsKey', env: 'DIALTONE_TLS_KEY', defaultText: 'unset',
    description: 'PEM private key file for the HTTPS listener.', fallback: () => null, parse: file,
  }),
  opt({
    key: 'firmwareDir', env: 'DIALTONE_FIRMWARE_DIR', defaultText: '<data dir>/firmware',
    description: 'Folder of firmware and other static files, served read-only over TFTP and under /prov/firmware/ over HTTP.',
    fallback: (r) => path.join(r.dataDir ?? path.resolve('var'), 'firmware'), parse: file,
  }),
  opt({
    key: 'firmwareImagesDir', env: 'DIALTONE_FIRMWARE_IMAGES_DIR', defaultText: '<data dir>/firmware-images',
    description: 'Folder of the firmware images uploaded with `dialtone firmware add` or `POST /api/v1/firmware`, each stored under its SHA-256; served only to the devices a rollout targets, with their provisioning credentials. Keep it outside DIALTONE_FIRMWARE_DIR.',
    fallback: (r) => path.join(r.dataDir ?? path.resolve('var'), 'firmware-images'), parse: file,
  }),
  opt({
    key: 'firmwareMaxMb', env: 'DIALTONE_FIRMWARE_MAX_MB', defaultText: '256',
    description: 'Largest firmware image accepted for upload, in MiB; a larger one is refused (413) as it streams in, before it fills the disk.',
    fallback: () => 256, parse: integer(1, 4096),
  }),
  opt({
    key: 'firmwareStuckMinutes', env: 'DIALTONE_FIRMWARE_STUCK_MINUTES', defaultText: '30',
    description: 'Minutes after fetching its firmware image by which a phone should come back reporting the new version; past them a rollout shows it as stuck.',
    fallback: () => 30, parse: integer(1, 10080),
  }),
  opt({
    key: 'activationDomain', env: 'DIALTONE_ACTIVATION_DOMAIN', defaultText: 'the host of DIALTONE_PUBLIC_URL',
    description: 'SIP domain (digest realm) pending phones register to with their activation credentials; it reaches only the registration service.',
    fallback: (r) => new URL(r.publicUrl ?? 'http://127.0.0.1').hostname.replace(/^\[(.*)\]$/, '$1'), parse: host,
  }),
  opt({
    key: 'registrationService', env: 'DIALTONE_REGISTRATION_SERVICE', defaultText: '*8000',
    description: 'Number a pending phone dials to activate with a code; the only number activation credentials reach.',
    fallback: () => '*8000', parse: dialNumber,
  }),
  opt({
    key: 'mediaHost', env: 'DIALTONE_MEDIA_HOST', defaultText: 'DIALTONE_SIP_PUBLIC_HOST',
    description: 'Address the registration service\'s audio (RTP) is advertised at in SDP; its ports are bound on it when it is an address of this machine, on all addresses otherwise.',
    fallback: (r) => r.sipPublicHost ?? '127.0.0.1', parse: host,
  }),
  opt({
    key: 'rtpPorts', env: 'DIALTONE_RTP_PORTS', defaultText: '16384-32767',
    description: 'UDP ports for call audio: each call takes an even port for RTP and the next for RTCP, and gives them back when it ends.',
    fallback: () => ({ min: 16384, max: 32767 }), parse: portRange,
  }),
  opt({
    key: 'promptsDir', env: 'DIALTONE_PROMPTS_DIR', defaultText: 'the prompts/ folder shipped with dialtone',
    description: 'Folder of the registration service\'s recordings, one folder per language, each holding every prompt as `<name>.ulaw`, `.alaw` and `.g722` (see scripts/make-prompts.sh); a missing file stops the start.',
    fallback: () => null, parse: file,
  }),
  opt({
    key: 'promptsLanguage', env: 'DIALTONE_PROMPTS_LANGUAGE', defaultText: 'en',
    description: 'Language folder of DIALTONE_PROMPTS_DIR the registration service speaks.',
    fallback: () => 'en',
    parse: (raw) => {
      if (!/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$/.test(raw)) throw new OptionError(`must be a language tag such as en or fr-CA, got ${JSON.stringify(raw)}`);
      return raw;
    },
  }),
  opt({
    key: 'voicemailNumber', env: 'DIALTONE_VOICEMAIL_NUMBER', defaultText: '*97',
    description: 'Voicemail access number put on the phones\' message key (overridable per tenant, site and device).',
    fallback: () => '*97', parse: dialNumber,
  }),
  opt({
    key: 'ntpServers', env: 'DIALTONE_NTP_SERVERS', defaultText: 'pool.ntp.org',
    description: 'Time servers given to phones, comma-separated (overridable per tenant, site and device).',
    fallback: () => ['pool.ntp.org'],
    parse: (raw) => raw.split(',').map((s) => host(s.trim())),
  }),
  opt({
    key: 'provRateLimit', env: 'DIALTONE_PROV_RATE_LIMIT', defaultText: '30',
    description: 'Failed provisioning requests per minute: asks for one unknown name, new MACs, and wrong credentials for one device, each per source; past it that name, new MACs or that device are refused to the source for the rest of the minute. A source may ask for 20 times as many distinct unknown names, and all sources together add 20 times as many new MACs. Known devices and common files are always served.',
    fallback: () => 30, parse: positive,
  }),
  opt({
    key: 'pendingDeviceDays', env: 'DIALTONE_PENDING_DEVICE_DAYS', defaultText: '30',
    description: 'Days after which a pending device (an unknown MAC that asked for its files and was never given to a tenant or an extension) that has not asked again is removed, with its timeline; 0 keeps them for ever.',
    fallback: () => 30, parse: integer(0, 3650),
  }),
  opt({
    key: 'pbxUri', env: 'DIALTONE_PBX_URI', defaultText: 'unset (no PBX: calls from phones are refused)',
    description: 'The PBX calls from phones are relayed to, for every tenant without one of its own (`PUT /api/v1/tenants/{id}/pbx`): `sip:127.0.0.1:5070;transport=udp`; a `sip:` or `sips:` URI with a host, an optional port and transport udp, tcp, tls or ws.',
    fallback: () => null,
    parse: (raw) => {
      const parsed = parsePbxUri(raw);
      if (!parsed.ok) throw new OptionError(parsed.reason);
      return parsed.pbx.uri;
    },
  }),
  opt({
    key: 'emergencyNumbers', env: 'DIALTONE_EMERGENCY_NUMBERS', defaultText: '911,112,999,933',
    description: 'Emergency numbers, comma-separated: always relayed whatever the calling permission, with the caller\'s emergency address as PIDF-LO.',
    fallback: () => ['911', '112', '999', '933'], parse: emergencyNumbers,
  }),
  opt({
    key: 'drainSeconds', env: 'DIALTONE_DRAIN_SECONDS', defaultText: '30',
    description: 'On SIGTERM, how long HTTP requests, downloads and TFTP transfers already under way may finish while no new one is accepted; then the daemon exits 0. Keep it below systemd\'s TimeoutStopSec.',
    fallback: () => 30, parse: integer(0, 3600),
  }),
  opt({
    key: 'metricsListen', env: 'DIALTONE_METRICS_LISTEN', defaultText: 'unset (GET /metrics on the HTTP port, with an operator token)',
    description: 'Also serve GET /metrics, without a token, on a listener of its own (`127.0.0.1:9464`): bind it to loopback or a management network that only Prometheus reaches.',
    fallback: () => null, parse: hostPort,
  }),
] as const;
