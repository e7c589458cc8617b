import type { Knex } from 'knex';
import type { SecretBox } from '../crypto/secret-box';
import { findExtension, getExtension } from '../admin/service/extensions';
import { OPERATOR } from '../admin/service/scope';
import type { PbxLine } from './line';

/** Reads one extension with everything a PBX needs, secrets opened. */
export async function loadLine(knex: Knex, secrets: SecretBox, extensionId: string): Promise<PbxLine> {
  const ext = await findExtension(knex, OPERATOR, extensionId);
  const view = await getExtension(knex, OPERATOR, extensionId);
  const tenant = await knex('tenants').where('id', ext.tenantId).first('sip_domain');
  const owner = ext.userId ? await knex('users').where('id', ext.userId).first('first_name', 'last_name', 'language', 'site_id') : null;
  const siteId = ext.siteId ?? owner?.site_id ?? null;
  const site = siteId ? await knex('sites').where('id', siteId).first('timezone', 'language') : null;
  return {
    extensionId: ext.id, tenantId: ext.tenantId, domain: tenant.sip_domain, number: ext.number,
    sipUsername: ext.sipUsername, sipPassword: secrets.open(ext.sipPasswordSealed),
    voicemailPin: ext.pinSealed ? secrets.open(ext.pinSealed) : null,
    firstName: owner?.first_name ?? '', lastName: owner?.last_name ?? '',
    language: owner?.language ?? site?.language ?? null, timezone: site?.timezone ?? null,
    settings: view,
  };
}

/** The extension FreeSWITCH asks for: by digest username or by number, within the domain. */
export async function findLineId(knex: Knex, domain: string, user: string): Promise<string | null> {
  const row = await knex('extensions')
    .join('tenants', 'tenants.id', 'extensions.tenant_id')
    .where('tenants.sip_domain', domain.toLowerCase())
    .andWhere((w) => w.where('extensions.sip_username', user).orWhere('extensions.number', user))
    .first('extensions.id');
  return row?.id ?? null;
}
