import { CODECS, type Codec } from '../../admin/domain/extension';
import { isPlainObject, language, timezone } from '../../admin/domain/fields';
import { Problems } from '../../core/errors';
import { validateKeys } from '../../admin/domain/keys';
import type { SettingsOverrides, Transport } from './settings';

const TRANSPORTS: readonly Transport[] = ['udp', 'tcp', 'tls'];
const HOST = /^[A-Za-z0-9.\-]{1,253}$|^\[?[0-9a-fA-F:]{2,39}\]?$/;
const DIAL = /^\+?[0-9*#]{1,32}$/;

function host(p: Problems, field: string, v: unknown): string | undefined {
  if (typeof v !== 'string' || !HOST.test(v)) {
    p.add(field, 'must be a host name or IP address');
    return undefined;
  }
  return v;
}

function port(p: Problems, field: string, v: unknown): number | undefined {
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 65535) {
    p.add(field, 'must be a port number from 1 to 65535');
    return undefined;
  }
  return v as number;
}

const FIELDS = ['codecs', 'timezone', 'ntpServers', 'language', 'voicemailNumber', 'transport', 'registrar', 'outboundProxy', 'keys', 'pickupPrefix', 'firmwareUrl', 'idleText', 'directory'];

/** Checks an override object from the API; field names in problems are prefixed with `prefix`. */
export function validateOverrides(input: unknown, prefix = 'overrides'): SettingsOverrides {
  const p = new Problems();
  if (!isPlainObject(input)) {
    p.add(prefix, 'must be an object');
    p.throwIfAny();
  }
  const body = input as Record<string, unknown>;
  const out: SettingsOverrides = {};
  const f = (name: string) => `${prefix}.${name}`;
  for (const k of Object.keys(body)) if (!FIELDS.includes(k)) p.add(f(k), `is not a setting that can be overridden; known: ${FIELDS.join(', ')}`);
  if ('codecs' in body) {
    const v = body.codecs;
    if (!Array.isArray(v) || v.length === 0 || v.some((c) => !(CODECS as readonly unknown[]).includes(c)) || new Set(v).size !== v.length) {
      p.add(f('codecs'), `must be a non-empty list, without repeats, of ${CODECS.join(', ')}`);
    } else out.codecs = v as Codec[];
  }
  if ('timezone' in body) out.timezone = timezone(p, f('timezone'), body.timezone) ?? undefined;
  if ('language' in body) out.language = language(p, f('language'), body.language) ?? undefined;
  if ('ntpServers' in body) {
    const v = body.ntpServers;
    if (!Array.isArray(v) || v.length === 0 || v.length > 4 || v.some((h) => typeof h !== 'string' || !HOST.test(h))) p.add(f('ntpServers'), 'must be 1 to 4 host names or addresses');
    else out.ntpServers = v as string[];
  }
  if ('voicemailNumber' in body) {
    if (typeof body.voicemailNumber !== 'string' || !DIAL.test(body.voicemailNumber)) p.add(f('voicemailNumber'), 'must be a number to dial such as *97');
    else out.voicemailNumber = body.voicemailNumber;
  }
  if ('transport' in body) {
    if (!(TRANSPORTS as readonly unknown[]).includes(body.transport)) p.add(f('transport'), `must be one of ${TRANSPORTS.join(', ')}`);
    else out.transport = body.transport as Transport;
  }
  if ('registrar' in body) {
    const v = body.registrar;
    if (!isPlainObject(v)) p.add(f('registrar'), 'must be {host?, port?}');
    else {
      out.registrar = {};
      if ('host' in v) out.registrar.host = host(p, f('registrar.host'), v.host);
      if ('port' in v) out.registrar.port = port(p, f('registrar.port'), v.port);
    }
  }
  if ('outboundProxy' in body) {
    const v = body.outboundProxy;
    if (v === null) out.outboundProxy = null;
    else if (!isPlainObject(v)) p.add(f('outboundProxy'), 'must be {host, port} or null');
    else {
      const h = host(p, f('outboundProxy.host'), v.host);
      const pt = port(p, f('outboundProxy.port'), v.port ?? 5060);
      if (h && pt) out.outboundProxy = { host: h, port: pt };
    }
  }
  if ('keys' in body) out.keys = validateKeys(p, f('keys'), body.keys) ?? undefined;
  if ('pickupPrefix' in body) {
    if (typeof body.pickupPrefix !== 'string' || !/^[0-9*#]{1,8}$/.test(body.pickupPrefix)) p.add(f('pickupPrefix'), 'must be the directed pickup code, 1 to 8 of 0-9 * #, such as **');
    else out.pickupPrefix = body.pickupPrefix;
  }
  if ('firmwareUrl' in body) {
    const v = body.firmwareUrl;
    if (v !== null && (typeof v !== 'string' || !/^(https?|tftp):\/\/[^\s<>"']{1,500}$/.test(v))) p.add(f('firmwareUrl'), 'must be an http, https or tftp URL, or null');
    else out.firmwareUrl = v as string | null;
  }
  if ('idleText' in body) {
    const v = body.idleText;
    if (v !== null && (typeof v !== 'string' || v.length > 64 || /[\u0000-\u001f\u007f]/.test(v))) p.add(f('idleText'), 'must be at most 64 printable characters, or null');
    else out.idleText = v as string | null;
  }
  if ('directory' in body) {
    if (typeof body.directory !== 'boolean') p.add(f('directory'), 'must be true or false (false: no corporate directory on these phones)');
    else out.directory = body.directory;
  }
  p.throwIfAny();
  return out;
}

/** Tenant, then site, then device: a later scope replaces a setting wholesale, never merges lists. */
export function mergeOverrides(...layers: (SettingsOverrides | null | undefined)[]): SettingsOverrides {
  const out: SettingsOverrides = {};
  for (const layer of layers) if (layer) Object.assign(out, layer);
  return out;
}
