import { newId, now } from '../daemon/core/ids';
import { SecretBox, parseKey } from '../daemon/crypto/secret-box';
import { migrate, openDatabase } from '../daemon/storage/database';
import { toJsonColumn } from '../daemon/storage/json';
import { DEFAULT_SETTINGS } from '../daemon/admin/domain/extension';
import { newDeviceRow } from '../daemon/provisioning/store/devices';
import type { Mac } from '../daemon/provisioning/mac';

export interface SeededDevice {
  mac: string;
  file: string;
  provUsername: string;
  provPassword: string;
}

/** A tenant with `count` extensions, each with a provisioned Yealink phone, written straight to the database. */
export async function seed(dbUrl: string, secretKey: string, count: number): Promise<SeededDevice[]> {
  const db = openDatabase(dbUrl);
  await migrate(db);
  const box = new SecretBox(parseKey(secretKey));
  const at = now();
  const tenantId = newId();
  const userId = newId();
  await db.knex('tenants').insert({ id: tenantId, name: 'Bench', sip_domain: 'bench.example.net', primary_admin_user_id: null, created_at: at, updated_at: at });
  await db.knex('users').insert({ id: userId, tenant_id: tenantId, first_name: 'Bench', last_name: 'User', email: 'bench@example.net', username: 'bench', username_key: 'bench', kind: 'person', status: 'active', is_admin: true, created_at: at, updated_at: at });
  const out: SeededDevice[] = [];
  for (let start = 0; start < count; start += 500) {
    const exts = [];
    const devs = [];
    for (let i = start; i < Math.min(count, start + 500); i++) {
      const extId = newId();
      const number = String(10000 + i);
      exts.push({ id: extId, tenant_id: tenantId, number, user_id: userId, site_id: null, settings: toJsonColumn(DEFAULT_SETTINGS), voicemail_pin_sealed: null, sip_username: `${number}xbench`, sip_password_sealed: box.seal(`pw${number}`), sip_rotated_at: at, created_at: at, updated_at: at });
      const mac = `001565${i.toString(16).padStart(6, '0')}` as Mac;
      const row = newDeviceRow(box, { mac, tenantId, vendor: 'yealink', model: 'T46S', extensionId: extId });
      // Provisioned already, so every HTTP fetch is authenticated as in production.
      row.credentials_sent_at = at;
      devs.push(row);
      out.push({ mac, file: `${mac}.cfg`, provUsername: row.prov_username as string, provPassword: box.open(row.prov_password_sealed as string) });
    }
    await db.knex.batchInsert('extensions', exts, 100);
    await db.knex.batchInsert('devices', devs, 100);
  }
  await db.close();
  return out;
}
