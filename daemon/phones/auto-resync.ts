import type { Knex } from 'knex';
import type { Change } from '../core/changes';
import type { Logger } from '../core/log';
import type { SipService } from '../sip/service';
import { affectedExtensionIds } from '../admin/service/extensions';
import { resyncDevice } from './resync';

// A bulk edit touches many records in a burst; each phone is told once, after the burst.
const SETTLE_MS = 2000;

/** Tells provisioned phones to fetch their configuration when a change affects it. */
export function resyncOnChange(knex: Knex, sip: SipService, activationDomain: string, log: Logger) {
  const pending = new Map<string, NodeJS.Timeout>();
  const schedule = (deviceId: string) => {
    clearTimeout(pending.get(deviceId));
    pending.set(deviceId, setTimeout(() => {
      pending.delete(deviceId);
      resyncDevice(knex, sip, activationDomain, null, deviceId, false)
        .catch((err: unknown) => log.warn({ err, deviceId }, 'automatic resync failed'));
    }, SETTLE_MS));
  };
  const onChange = async (change: Change) => {
    const extensions = change.kind === 'device' ? [] : await affectedExtensionIds(knex, change.kind, change.id);
    // A phone's own extension, or one on an ATA's other port.
    const devices = change.kind === 'device'
      ? [change.id]
      : [...new Set([
        ...(await knex('devices').whereIn('extension_id', extensions).select('id')).map((r: { id: string }) => r.id),
        ...(await knex('device_ports').whereIn('extension_id', extensions).select('device_id')).map((r: { device_id: string }) => r.device_id),
      ])];
    for (const id of devices) schedule(id);
  };
  return {
    listener: (change: Change) => void onChange(change).catch((err: unknown) => log.error({ err }, 'cannot find the phones a change affects')),
    stop: () => {
      for (const timer of pending.values()) clearTimeout(timer);
      pending.clear();
    },
  };
}
