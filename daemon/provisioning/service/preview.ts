import type { Knex } from 'knex';
import type { Scope } from '../../admin/service/scope';
import type { SecretBox } from '../../crypto/secret-box';
import type { ServerDefaults } from '../model/build';
import type { DeviceSettings } from '../model/settings';
import { loadDeviceSettings } from '../settings-source';
import { type TemplateRenderer, templateData } from '../templates/render';
import { familyById } from '../vendors/families';
import { exampleName, findModel } from '../vendors/match';
import { findDevice } from './devices';

const MASK = '********';

export interface PreviewFile {
  name: string;
  contentType: string;
  perDevice: boolean;
  body: string;
}

function masked(s: DeviceSettings): DeviceSettings {
  return {
    ...s,
    lines: s.lines.map((l) => ({ ...l, password: MASK })),
    provisioning: { ...s.provisioning, password: MASK },
  };
}

/** The files a device would get, rendered from the same templates with every secret masked: for an administrator checking a template. */
export async function previewDevice(knex: Knex, secrets: SecretBox, server: ServerDefaults, renderer: TemplateRenderer, scope: Scope, id: string): Promise<{ mode: DeviceSettings['mode']; files: PreviewFile[] }> {
  const device = await findDevice(knex, scope, id);
  const family = device.vendor ? familyById(device.vendor) : null;
  const { settings } = await loadDeviceSettings(knex, secrets, server, device);
  if (!family) return { mode: settings.mode, files: [] };
  const model = device.model ? findModel(device.model)?.model ?? null : null;
  const safe = masked(settings);
  const seen = new Set<string>();
  const files: PreviewFile[] = [];
  for (const rule of family.files) {
    const name = exampleName(rule, device.mac, model);
    // The directory is the tenant's, not the device's settings: nothing of it to check here.
    if (!name || rule.directory || seen.has(name.toLowerCase())) continue;
    seen.add(name.toLowerCase());
    const m = rule.pattern.exec(name);
    const data = templateData(family, { name, mac: device.mac, model: m?.groups?.model ?? null, tag: m?.groups?.tag ?? null }, rule.perDevice ? safe : null, server.provisioningUrl);
    files.push({ name, contentType: rule.contentType, perDevice: rule.perDevice, body: renderer.render(family, rule, data) });
  }
  return { mode: settings.mode, files };
}
