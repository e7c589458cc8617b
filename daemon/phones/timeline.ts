import type { Knex } from 'knex';
import type { Logger } from '../core/log';
import { deviceForExtension, recordDeviceEvent } from '../provisioning';
import type { BindingEvent } from '../sip/registrar/registrar';
import type { SipService } from '../sip/service';

/** Registrations, unregistrations and expiries of a phone go into its device timeline. */
export function recordRegistrations(knex: Knex, sip: SipService, log: Logger): () => void {
  const record = async (e: BindingEvent) => {
    const deviceId = e.owner.deviceId ?? (e.owner.extensionId ? (await deviceForExtension(knex, e.owner.extensionId))?.id : null);
    if (!deviceId) return;
    await recordDeviceEvent(knex, deviceId, {
      kind: 'registration', transport: 'sip', source: `${e.source.transport}:${e.source.address}:${e.source.port}`,
      userAgent: e.userAgent, result: e.type, detail: e.reason ? `${e.contact} (${e.reason})` : e.contact, at: e.at,
    });
  };
  const handler = (e: BindingEvent) => {
    record(e).catch((err: unknown) => log.error({ err, aor: e.aor }, 'cannot record a registration in the device timeline'));
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
