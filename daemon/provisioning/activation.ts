import type { Knex } from 'knex';
import type { SecretBox } from '../crypto/secret-box';
import type { SipIdentity, SipIdentityLookup } from '../sip/identity';

/**
 * Pending phones as a source of SIP identities: each has its own activation
 * credentials, valid only in the activation domain and only while the
 * device is not yet on an extension. What they may call (the registration
 * service alone) is the registrar's rule; what they can never be is an
 * extension, since this lookup has no extension to give.
 */
export function activationIdentities(knex: Knex, secrets: SecretBox, activationDomain: string): SipIdentityLookup {
  const realm = activationDomain.toLowerCase();
  return async (domain: string, username: string): Promise<SipIdentity | null> => {
    if (domain.toLowerCase() !== realm || username.length > 64) return null;
    const row = await knex('devices').where('activation_username', username).whereNull('extension_id').first('id', 'activation_username', 'activation_password_sealed');
    if (!row) return null;
    return {
      kind: 'activation', tenantId: null, extensionId: null, deviceId: row.id,
      username: row.activation_username, password: secrets.open(row.activation_password_sealed),
      realm, aor: `${row.activation_username}@${realm}`,
    };
  };
}
