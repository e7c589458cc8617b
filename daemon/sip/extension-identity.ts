import { findBySipIdentity } from '../admin/service/extensions';
import type { Knex } from 'knex';
import type { SecretBox } from '../crypto/secret-box';
import type { SipIdentityLookup } from './identity';

/** Bindings of an extension are kept under `<number>@<tenant SIP domain>`. */
export function extensionAor(number: string, domain: string): string {
  return `${number}@${domain.toLowerCase()}`;
}

/** Extensions as registrar identities: the tenant by its SIP domain, the digest username is the extension's SIP username. */
export function extensionIdentityLookup(deps: { knex: Knex; secrets: SecretBox }): SipIdentityLookup {
  return async (domain, username) => {
    const found = await findBySipIdentity(deps, domain, username);
    if (!found) return null;
    const realm = domain.toLowerCase();
    return {
      kind: 'extension', tenantId: found.extension.tenantId, extensionId: found.extension.id, deviceId: null,
      username: found.extension.sipUsername, password: found.password, realm, aor: extensionAor(found.extension.number, realm),
    };
  };
}
