import type { Knex } from 'knex';
import { NotFoundError, RefusedError } from '../core/errors';
import { deviceById } from '../provisioning/store/devices';
import { recordDeviceEvent, resyncEvent } from '../provisioning';
import { extensionAor } from '../sip/extension-identity';
import type { ResyncResult } from '../sip/resync';
import type { SipService } from '../sip/service';

export interface DeviceResync {
  deviceId: string;
  event: string;
  results: ResyncResult[];
}

/** The address of record a device registers under: its extension's, or while pending its activation identity's. */
async function deviceAor(knex: Knex, device: { extensionId: string | null; activationUsername: string }, activationDomain: string): Promise<string> {
  if (!device.extensionId) return `${device.activationUsername}@${activationDomain.toLowerCase()}`;
  const row = await knex('extensions').join('tenants', 'tenants.id', 'extensions.tenant_id').where('extensions.id', device.extensionId).first('extensions.number', 'tenants.sip_domain');
  return extensionAor(row.number, row.sip_domain);
}

/**
 * Asks a phone to fetch its configuration again (or to reboot), with its
 * vendor's NOTIFY event, on every contact it registered; each answer goes
 * into the device timeline. `tenantId` null is an operator asking.
 */
export async function resyncDevice(knex: Knex, sip: SipService, activationDomain: string, tenantId: string | null, deviceId: string, reboot: boolean): Promise<DeviceResync> {
  const device = await deviceById(knex, deviceId);
  if (!device || (tenantId !== null && device.tenantId !== tenantId)) throw new NotFoundError('device');
  const event = resyncEvent(device.model ?? device.vendor ?? '', { reboot });
  if (!event) throw new RefusedError(`no resync event is known for ${device.model ?? device.vendor ?? 'this device'}; reboot it by hand`);
  const results = await sip.resync(await deviceAor(knex, device, activationDomain), event);
  for (const r of results) {
    await recordDeviceEvent(knex, deviceId, {
      kind: 'resync', transport: 'sip', source: `${r.source.transport}:${r.source.address}:${r.source.port}`, userAgent: r.userAgent,
      result: r.status !== null && r.status < 300 ? 'sent' : 'failed', detail: `${event} → ${r.status ?? 'no answer'} ${r.reason ?? ''}`.trim(),
    });
  }
  if (results.length === 0) await recordDeviceEvent(knex, deviceId, { kind: 'resync', transport: 'sip', result: 'not_registered', detail: event });
  return { deviceId, event, results };
}
