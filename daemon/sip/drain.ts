import type { IncomingRequest } from './engine';

/**
 * While a node drains, a request that would start something new (outside a
 * dialog, and not an ACK or CANCEL of a transaction under way) is answered
 * 503 with Retry-After, so the phone or the PBX tries another node (RFC 3261
 * §21.5.4). True when it was refused.
 */
export function refuseWhileDraining(req: IncomingRequest, retryAfterSeconds: number | null): boolean {
  const m = req.message;
  if (retryAfterSeconds === null || m.headers.to?.params.tag !== undefined || m.method === 'ACK' || m.method === 'CANCEL') return false;
  req.reply(503, 'Service Unavailable', { headers: { 'retry-after': String(retryAfterSeconds), warning: '399 dialtone "this node is shutting down"' } });
  return true;
}
