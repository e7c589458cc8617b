import type { TestApp } from '../helpers/app';
import { provisionedExtension } from './fixtures';
import { SAMPLE_DEVICES } from './samples';

/** One extension and one device per vendor family, as an administrator would enter them. */
export async function fleet(ta: TestApp) {
  const f = await provisionedExtension(ta);
  const { sipCredentials } = await import('../../daemon/admin/service/extensions');
  const devices = [];
  let n = 2001;
  for (const [vendor, s] of Object.entries(SAMPLE_DEVICES)) {
    const ext = await ta.call('POST', '/api/v1/extensions', { token: f.token, body: { number: String(n++), userId: f.user.id } });
    const dev = await ta.call('POST', '/api/v1/devices', { token: f.token, body: { mac: s.mac, model: s.model, extensionId: ext.body.id } });
    if (dev.status !== 201) throw new Error(`device: ${dev.status} ${dev.raw}`);
    const creds = await sipCredentials({ knex: ta.app.runtime.db.knex, secrets: ta.app.runtime.secrets }, { tenantId: null, actor: 'test' }, ext.body.id);
    devices.push({ vendor, ...s, id: dev.body.id as string, extensionId: ext.body.id as string, creds });
  }
  return { ...f, devices };
}

/** The per-device file each family asks for, and the folder its phones ask under. */
export const PER_DEVICE_FILE: Record<string, (mac: string) => string> = {
  polycom: (m) => `${m}-user.cfg`,
  yealink: (m) => `${m}.cfg`,
  'cisco-spa': (m) => `${m}.xml`,
  'cisco-mpp': (m) => `Cisco/CP-7841-3PCC/${m}.cfg`,
  grandstream: (m) => `Grandstream/cfg${m}.xml`,
  snom: (m) => `snomD785-${m.toUpperCase()}.htm`,
  fanvil: (m) => `Fanvil/${m}.cfg`,
};
