import crypto from 'node:crypto';
import type { Message } from 'sip';
import type { Flow, SipEngine } from './engine';
import type { Binding } from './registrar/bindings';
import type { NodeHops } from './proxy/node-hop';

/** What one registered contact answered to a resync NOTIFY. */
export interface ResyncResult {
  contact: string;
  source: Flow;
  userAgent: string;
  event: string;
  /** The final status, or null when nothing came back. */
  status: number | null;
  reason: string;
  at: string;
}

/**
 * Sends an unsolicited NOTIFY with the vendor's resync Event (such as
 * `check-sync;reboot=false`) to each contact, over the transport and
 * connection it registered on, so phones behind NAT are reached: through
 * the dialtone node that holds that connection when it is not this one.
 */
export async function resyncContacts(engine: SipEngine, hops: NodeHops, aor: string, bindings: Binding[], event: string): Promise<ResyncResult[]> {
  return Promise.all(bindings.map((b) => notify(engine, hops, aor, b, event)));
}

async function notify(engine: SipEngine, hops: NodeHops, aor: string, b: Binding, event: string): Promise<ResyncResult> {
  const domain = aor.slice(aor.lastIndexOf('@') + 1);
  const callId = `${crypto.randomBytes(12).toString('hex')}@dialtone`;
  const headers: Record<string, unknown> = {
    to: { uri: `sip:${aor}`, params: {} },
    from: { uri: `sip:dialtone@${domain}`, params: { tag: crypto.randomBytes(6).toString('hex') } },
    'call-id': callId,
    cseq: { seq: 1, method: 'NOTIFY' },
    event,
    'subscription-state': 'terminated',
  };
  const result = (status: number | null, reason: string): ResyncResult => ({
    contact: b.contact, source: b.source, userAgent: b.userAgent, event, status, reason, at: new Date().toISOString(),
  });
  const reach = await hops.reach(b.source, callId, 'udp');
  if ('gone' in reach) return result(null, 'not sent: the dialtone node holding the phone\'s connection is not running');
  const route = 'hop' in reach ? [reach.hop.route, ...b.path] : b.path;
  if (route.length > 0) headers.route = route.map((r) => `<${r.replace(/^<|>$/g, '')}>`).join(', ');
  const flow = 'hop' in reach ? reach.hop.flow : b.source;
  return new Promise((resolve) => {
    engine.request({ method: 'NOTIFY', uri: b.contact, headers, flow }, (err, res?: Message) => {
      resolve(err ? result(null, err.message) : result(res?.status ?? null, res?.reason ?? ''));
    });
  });
}
