import crypto from 'node:crypto';
import type { Flow, SipTransport } from '../engine';

/**
 * A phone's flow, written into dialtone's Record-Route URI (RFC 5626 §5.3's
 * idea): requests later in the dialog carry it back, and the proxy sends
 * them down the very socket or connection the phone is reachable on, behind
 * NAT or on TCP and WebSocket. It is signed, so a peer cannot make dialtone
 * send to an address of its choosing by forging a Route.
 */
const TRANSPORTS: readonly SipTransport[] = ['udp', 'tcp', 'ws'];
const SIGNATURE_CHARS = 16;

function sign(secret: Buffer, body: string): string {
  return crypto.createHmac('sha256', secret).update(body).digest('base64url').slice(0, SIGNATURE_CHARS);
}

export function flowToken(secret: Buffer, flow: Flow): string {
  const body = Buffer.from(`${flow.transport}|${flow.address}|${flow.port}|${flow.connectionId ?? ''}`).toString('base64url');
  return `${body}.${sign(secret, body)}`;
}

/** The flow a token names, or null when it is not one of ours (forged, truncated, from another key). */
export function readFlowToken(secret: Buffer, token: string): Flow | null {
  const dot = token.indexOf('.');
  if (dot <= 0 || token.length > 400) return null;
  const body = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1));
  const expected = Buffer.from(sign(secret, body));
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return null;
  const [transport, address, port, connectionId] = Buffer.from(body, 'base64url').toString().split('|');
  if (!TRANSPORTS.includes(transport as SipTransport) || !address || !/^\d{1,5}$/.test(port ?? '')) return null;
  const flow: Flow = { transport: transport as SipTransport, address, port: Number(port) };
  if (connectionId) flow.connectionId = connectionId;
  return flow;
}

export function sameFlow(a: Flow, b: Flow): boolean {
  if (a.connectionId || b.connectionId) return a.connectionId === b.connectionId;
  return a.transport === b.transport && a.address === b.address && a.port === b.port;
}
