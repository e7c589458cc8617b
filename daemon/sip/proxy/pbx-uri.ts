import net from 'node:net';

export const PBX_TRANSPORTS = ['udp', 'tcp', 'tls', 'ws'] as const;
export type PbxTransport = (typeof PBX_TRANSPORTS)[number];

/** Where a PBX is reached: the URI as stored, and its parts. */
export interface PbxAddress {
  uri: string;
  /** A DNS name in lower case, an IPv4 address, or an IPv6 address without brackets. */
  host: string;
  port: number;
  transport: PbxTransport;
}

// RFC 3261's defaults: 5060 for sip: over UDP and TCP, 5061 over TLS; RFC 7118's 80 for plain WebSocket.
const DEFAULT_PORT: Record<PbxTransport, number> = { udp: 5060, tcp: 5060, tls: 5061, ws: 80 };

const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export type PbxUriResult = { ok: true; pbx: PbxAddress } | { ok: false; reason: string };

/**
 * Reads a PBX's SIP URI: `sip:` or `sips:`, a host, an optional port and an
 * optional `;transport=`. Nothing else is accepted (no user part, no other
 * parameter) because dialtone relays to this address as written and a
 * parameter it ignored would be a setting silently dropped.
 */
export function parsePbxUri(raw: unknown): PbxUriResult {
  if (typeof raw !== 'string') return { ok: false, reason: 'must be a SIP URI such as sip:pbx.example.com:5060;transport=udp' };
  if (raw.length === 0 || raw.length > 300) return { ok: false, reason: 'must be a SIP URI of 1 to 300 characters' };
  if (/[\s\u0000-\u001f\u007f]/.test(raw)) return { ok: false, reason: 'must not contain spaces or control characters' };
  const m = /^(sips?):(.*)$/i.exec(raw);
  if (!m) return { ok: false, reason: 'must start with sip: or sips:' };
  const scheme = m[1]!.toLowerCase() as 'sip' | 'sips';
  const [hostPort = '', ...params] = m[2]!.split(';');
  if (hostPort.includes('@')) return { ok: false, reason: 'must name the PBX by host only, without a user part' };
  if (/[?]/.test(hostPort) || params.some((p) => p.includes('?'))) return { ok: false, reason: 'must not carry headers (?...)' };
  const hp = /^(\[[0-9a-fA-F:.]+\]|[^:\[\]]+)(?::([^:]*))?$/.exec(hostPort);
  if (!hp) return { ok: false, reason: 'must have a host, and a port only after the host (IPv6 addresses in brackets)' };
  let host = hp[1]!.toLowerCase();
  if (host.startsWith('[')) {
    host = host.slice(1, -1);
    if (net.isIPv6(host) !== true) return { ok: false, reason: `has an invalid IPv6 address ${JSON.stringify(host)}` };
  } else if (!net.isIPv4(host) && (!DNS_NAME.test(host) || /^[0-9.]+$/.test(host))) {
    return { ok: false, reason: `has an invalid host ${JSON.stringify(hp[1])}: a DNS name, an IPv4 address or an [IPv6] address` };
  }
  let transport: PbxTransport | null = null;
  for (const param of params) {
    const [name = '', value, extra] = param.split('=');
    if (name.toLowerCase() !== 'transport' || value === undefined || extra !== undefined) {
      return { ok: false, reason: `has the parameter ${JSON.stringify(param)}: only ;transport=udp|tcp|tls|ws is accepted` };
    }
    if (transport !== null) return { ok: false, reason: 'names the transport twice' };
    const t = value.toLowerCase();
    if (!(PBX_TRANSPORTS as readonly string[]).includes(t)) return { ok: false, reason: `has transport ${JSON.stringify(value)}: must be udp, tcp, tls or ws` };
    transport = t as PbxTransport;
  }
  transport ??= scheme === 'sips' ? 'tls' : 'udp';
  if (scheme === 'sips' && transport !== 'tls') return { ok: false, reason: `is a sips: URI, which needs TLS, with transport ${transport}` };
  let port = DEFAULT_PORT[transport];
  if (hp[2] !== undefined) {
    if (!/^[0-9]{1,5}$/.test(hp[2]) || Number(hp[2]) < 1 || Number(hp[2]) > 65535) return { ok: false, reason: `has the port ${JSON.stringify(hp[2])}: must be 1 to 65535` };
    port = Number(hp[2]);
  }
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const shownPort = hp[2] !== undefined ? `:${port}` : '';
  const shownTransport = params.length > 0 ? `;transport=${transport}` : '';
  return { ok: true, pbx: { uri: `${scheme}:${shownHost}${shownPort}${shownTransport}`, host, port, transport } };
}
