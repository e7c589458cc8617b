import type { Knex } from 'knex';
import type { ExtensionView } from '../../admin/service/extensions';
import { getExtension } from '../../admin/service/extensions';
import { OPERATOR } from '../../admin/service/scope';
import { extensionAor } from '../extension-identity';

/** An extension as a call sees it: where its phones are registered and the settings a call obeys. */
export interface CallParty {
  tenantId: string;
  domain: string;
  aor: string;
  extension: ExtensionView;
}

/**
 * Extensions looked up for calls: the called one by number or SIP username
 * at its tenant's domain, the calling one by the identity it authenticated
 * as. Reads only; the admin services own the rows.
 */
export function callDirectory(knex: Knex) {
  async function party(extensionId: string, domain: string): Promise<CallParty> {
    const extension = await getExtension(knex, OPERATOR, extensionId);
    return { tenantId: extension.tenantId, domain, aor: extensionAor(extension.number, domain), extension };
  }
  return {
    /** The tenant whose SIP domain this is, if any. */
    async tenantOf(domain: string): Promise<string | null> {
      const row = await knex('tenants').where('sip_domain', domain.toLowerCase()).first('id');
      return row ? (row.id as string) : null;
    },
    async domainOf(tenantId: string): Promise<string | null> {
      const row = await knex('tenants').where('id', tenantId).first('sip_domain');
      return row ? (row.sip_domain as string) : null;
    },
    /** The extension a Request-URI's user names at a tenant: its number, or its SIP username. */
    async called(tenantId: string, domain: string, user: string): Promise<CallParty | null> {
      if (user.length > 64) return null;
      const row = await knex('extensions').where('tenant_id', tenantId)
        .andWhere((q) => q.where('number', user).orWhere('sip_username', user)).first('id');
      return row ? party(row.id as string, domain.toLowerCase()) : null;
    },
    caller(extensionId: string, domain: string): Promise<CallParty> {
      return party(extensionId, domain.toLowerCase());
    },
    /** Whether a number is an extension of the tenant: calls to it are internal. */
    async isExtension(tenantId: string, number: string): Promise<boolean> {
      if (number.length > 64) return false;
      return (await knex('extensions').where({ tenant_id: tenantId, number }).first('id')) !== undefined;
    },
  };
}

export type CallDirectory = ReturnType<typeof callDirectory>;
