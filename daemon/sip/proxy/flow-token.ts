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

function encode(flow: Flow): string {
  return Buffer.from(`${flow.transport}|${flow.address}|${flow.port}|${flow.connectionId ?? ''}`).toString('base64url');
}

function decode(body: string): Flow | null {
  const [transport, address, port, connectionId] = Buffer.from(body, 'base64url').toString().split('|');
  if (!TRANSPORTS.includes(transport as SipTransport) || !address || !/^\d{1,5}$/.test(port ?? '')) return null;
  const flow: Flow = { transport: transport as SipTransport, address, port: Number(port) };
  if (connectionId) flow.connectionId = connectionId;
  return flow;
}

function signed(secret: Buffer, text: string, signature: string): boolean {
  const given = Buffer.from(signature);
  const expected = Buffer.from(sign(secret, text));
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

export function flowToken(secret: Buffer, flow: Flow): string {
  const body = encode(flow);
  return `${body}.${sign(secret, body)}`;
}

/** The flow a token names, or null when it is not one of ours (forged, truncated, from another key). */
export function readFlowToken(secret: Buffer, token: string): Flow | null {
  const dot = token.indexOf('.');
  if (dot <= 0 || token.length > 400) return null;
  const body = token.slice(0, dot);
  return signed(secret, body, token.slice(dot + 1)) ? decode(body) : null;
}

/**
 * A flow handed from one dialtone node to the node holding its connection,
 * for one call (Call-ID) and until a time: signed with a key of its own, so
 * that neither a flow token from a Record-Route nor one taken off the wire
 * for another call makes a node relay to a phone.
 */
export function nodeRouteToken(secret: Buffer, flow: Flow, callId: string, until: number): string {
  const head = `${encode(flow)}.${until.toString(36)}`;
  return `${head}.${sign(secret, `${head}|${callId}`)}`;
}

export function readNodeRouteToken(secret: Buffer, token: string, callId: string, now: number): Flow | null {
  const parts = token.split('.');
  if (parts.length !== 3 || token.length > 400 || !/^[0-9a-z]{1,12}$/.test(parts[1]!)) return null;
  const head = `${parts[0]}.${parts[1]}`;
  if (!signed(secret, `${head}|${callId}`, parts[2]!) || parseInt(parts[1]!, 36) < now) return null;
  return decode(parts[0]!);
}

export function sameFlow(a: Flow, b: Flow): boolean {
  if (a.connectionId || b.connectionId) return a.connectionId === b.connectionId;
  return a.transport === b.transport && a.address === b.address && a.port === b.port;
}
