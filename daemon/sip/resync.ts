import crypto from 'node:crypto';
import type { Message } from 'sip';
import type { Flow, SipEngine } from './engine';
import type { Binding } from './registrar/bindings';

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
 * connection it registered on, so phones behind NAT are reached.
 */
export async function resyncContacts(engine: SipEngine, aor: string, bindings: Binding[], event: string): Promise<ResyncResult[]> {
  return Promise.all(bindings.map((b) => notify(engine, aor, b, event)));
}

function notify(engine: SipEngine, aor: string, b: Binding, event: string): Promise<ResyncResult> {
  const domain = aor.slice(aor.lastIndexOf('@') + 1);
  const headers: Record<string, unknown> = {
    to: { uri: `sip:${aor}`, params: {} },
    from: { uri: `sip:dialtone@${domain}`, params: { tag: crypto.randomBytes(6).toString('hex') } },
    'call-id': `${crypto.randomBytes(12).toString('hex')}@dialtone`,
    cseq: { seq: 1, method: 'NOTIFY' },
    event,
    'subscription-state': 'terminated',
  };
  if (b.path.length > 0) headers.route = b.path.join(', ');
  return new Promise((resolve) => {
    engine.request({ method: 'NOTIFY', uri: b.contact, headers, flow: b.source }, (err, res?: Message) => {
      resolve({
        contact: b.contact, source: b.source, userAgent: b.userAgent, event,
        status: err ? null : res?.status ?? null,
        reason: err ? err.message : res?.reason ?? '',
        at: new Date().toISOString(),
      });
    });
  });
}
