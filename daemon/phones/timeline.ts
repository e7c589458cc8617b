import type { TimelineWriter } from '../provisioning/serve/timeline-writer';
import type { BindingEvent } from '../sip/registrar/registrar';
import type { SipService } from '../sip/service';

/**
 * Registrations, unregistrations and expiries of a phone go into its device
 * timeline, through the writer that batches fetches: a phone changing its
 * contact costs no query while its REGISTER is answered.
 */
export function recordRegistrations(timeline: Pick<TimelineWriter, 'add' | 'addForExtension'>, sip: SipService): () => void {
  const handler = (e: BindingEvent) => {
    const event = {
      kind: 'registration' as const, transport: 'sip' as const, source: `${e.source.transport}:${e.source.address}:${e.source.port}`,
      userAgent: e.userAgent, result: e.type, detail: e.reason ? `${e.contact} (${e.reason})` : e.contact, at: e.at,
    };
    if (e.owner.deviceId) timeline.add(e.owner.deviceId, event);
    else if (e.owner.extensionId) timeline.addForExtension(e.owner.extensionId, event);
  };
  sip.registrar.events.on('registered', handler);
  sip.registrar.events.on('unregistered', handler);
  sip.registrar.events.on('expired', handler);
  return () => {
    sip.registrar.events.off('registered', handler);
    sip.registrar.events.off('unregistered', handler);
    sip.registrar.events.off('expired', handler);
  };
}
