import type { Knex } from 'knex';
import { isPlainObject } from '../../admin/domain/fields';
import type { Problems } from '../../core/errors';
import { findModel } from '../vendors/match';

/** An ATA's port 2 and up and the extension on it; port 1 is the device's extensionId. */
export interface DevicePort {
  port: number;
  extensionId: string;
}

/** The ports of each device, in one query whatever the number of devices. */
export async function portsOfDevices(knex: Knex, deviceIds: string[]): Promise<Map<string, DevicePort[]>> {
  const out = new Map<string, DevicePort[]>();
  if (deviceIds.length === 0) return out;
  const rows = await knex('device_ports').whereIn('device_id', deviceIds).orderBy(['device_id', 'port']);
  for (const r of rows) {
    const list = out.get(r.device_id) ?? [];
    list.push({ port: Number(r.port), extensionId: r.extension_id });
    out.set(r.device_id, list);
  }
  return out;
}

/**
 * `ports` as the API takes it: `{"2": "<extension id>", "3": null}`, a port
 * number from 2 to the model's port count mapped to the extension on it, or
 * null to free it. Only an ATA's model has ports beyond the first.
 */
export function parsePorts(p: Problems, raw: unknown, model: string | null): Map<number, string | null> | null {
  const out = new Map<number, string | null>();
  const count = (model ? findModel(model)?.model.ports : undefined) ?? 1;
  if (!isPlainObject(raw)) {
    p.add('ports', 'must be an object of port numbers to extension ids (or null), such as {"2": "<extension id>"}');
    return null;
  }
  if (count < 2 && Object.keys(raw).length > 0) {
    p.add('ports', `${model ?? 'a device without a model'} has one port: use extensionId`);
    return null;
  }
  for (const [key, value] of Object.entries(raw)) {
    const port = /^[0-9]{1,2}$/.test(key) ? Number(key) : NaN;
    if (!(port >= 2 && port <= count)) p.add(`ports.${key}`, `must be a port number from 2 to ${count} (${model}); port 1 is extensionId`);
    else if (value !== null && (typeof value !== 'string' || value.length > 64)) p.add(`ports.${key}`, 'must be an extension id, or null to free the port');
    else out.set(port, value as string | null);
  }
  const ids = [...out.values()].filter((v): v is string => v !== null);
  if (new Set(ids).size !== ids.length) p.add('ports', 'names one extension on two ports: an extension is on one port');
  return out;
}
