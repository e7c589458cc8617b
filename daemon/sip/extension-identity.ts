import { findBySipIdentity } from '../admin/service/extensions';
import type { Knex } from 'knex';
import type { ChangeFeed } from '../core/changes';
import type { SecretBox } from '../crypto/secret-box';
import type { SipIdentityLookup } from './identity';
import { IdentityCache } from './registrar/identity-cache';
import { invalidateIdentities } from './registrar/identity-invalidation';

/** Bindings of an extension are kept under `<number>@<tenant SIP domain>`. */
export function extensionAor(number: string, domain: string): string {
  return `${number}@${domain.toLowerCase()}`;
}

/** Extensions as registrar identities, from the database: the tenant by its SIP domain, the digest username is the extension's SIP username. */
export function extensionIdentityLookup(deps: { knex: Knex; secrets: SecretBox }): SipIdentityLookup {
  return async (domain, username) => {
    const found = await findBySipIdentity(deps, domain, username);
    if (!found) return null;
    const realm = domain.toLowerCase();
    return {
      kind: 'extension', tenantId: found.tenantId, extensionId: found.id, deviceId: null,
      username: found.sipUsername, password: found.password, realm, aor: extensionAor(found.number, realm),
    };
  };
}

export interface ExtensionIdentities {
  lookup: SipIdentityLookup;
  cache: IdentityCache;
  /** Stops hearing changes; nothing is kept from then on. */
  close(): void;
}

/**
 * Extension identities as a registrar process uses them: from memory once
 * looked up, forgotten on every change `changes` carries from any process
 * (identity-invalidation.ts).
 */
export function extensionIdentities(deps: { knex: Knex; secrets: SecretBox; changes: ChangeFeed }): ExtensionIdentities {
  const cache = new IdentityCache();
  const close = invalidateIdentities(cache, deps.changes);
  return { lookup: cache.wrap(extensionIdentityLookup(deps)), cache, close };
}
