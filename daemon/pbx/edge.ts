import dns from 'node:dns';
import net from 'node:net';

/**
 * dialtone's own SIP address as the PBX must see it: where it sends calls
 * and qualify OPTIONS for an extension (through dialtone, the phones' edge
 * proxy) and the only source it accepts them from.
 */
export interface DialtoneEdge {
  host: string;
  port: number;
  /** What `host` resolves to: the addresses the PBX trusts. */
  addresses: string[];
}

/** `host:port` as `SipService.registrarAddress()` gives it (an IPv6 host with or without brackets). */
export function parseHostPort(hostPort: string): { host: string; port: number } {
  const m = /^\[?(.+?)\]?:(\d{1,5})$/.exec(hostPort.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535 || /[\s;<>@"]/.test(m[1]!)) throw new Error(`dialtone's SIP address must be host:port, got ${JSON.stringify(hostPort)}`);
  return { host: m[1]!, port };
}

/** The loose-routing SIP URI of dialtone (`sip:host:port;lr`), as RFC 3261 writes it. */
export function edgeUri(edge: Pick<DialtoneEdge, 'host' | 'port'>): string {
  const host = edge.host.includes(':') ? `[${edge.host}]` : edge.host;
  return `sip:${host}:${edge.port};lr`;
}

/** Resolves dialtone's advertised host to the addresses the PBX will see requests from. */
export async function resolveEdge(hostPort: string): Promise<DialtoneEdge> {
  const { host, port } = parseHostPort(hostPort);
  if (net.isIP(host)) return { host, port, addresses: [host] };
  const found = await dns.promises.lookup(host, { all: true });
  return { host, port, addresses: [...new Set(found.map((a) => a.address))] };
}
