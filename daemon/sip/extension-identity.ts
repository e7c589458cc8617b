import { findBySipIdentity } from '../admin/service/extensions';
import type { Knex } from 'knex';
import type { ChangeFeed } from '../core/changes';
import type { Logger } from '../core/log';
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

/** The channel on which every process sharing a Redis hears which identities to forget. */
export const IDENTITY_CHANNEL = 'dialtone:sip:identity-changes';

export interface ExtensionIdentities {
  lookup: SipIdentityLookup;
  cache: IdentityCache;
  /** Starts listening for changes through Redis, if configured. */
  start(): void;
  close(): void;
}

/**
 * Extension identities as a registrar process uses them: from memory once
 * looked up, forgotten on every change this process commits (`changes`) and,
 * with Redis, on every change any process announces. Without either, nothing
 * would say when to forget, so nothing is kept.
 */
export function extensionIdentities(deps: { knex: Knex; secrets: SecretBox; changes: ChangeFeed | null; redisUrl: string | null; log: Logger; channel?: string }): ExtensionIdentities {
  const cache = new IdentityCache({ trusted: !deps.redisUrl && deps.changes !== null });
  const invalidation = invalidateIdentities(cache, { changes: deps.changes, redisUrl: deps.redisUrl, channel: deps.channel ?? IDENTITY_CHANNEL, log: deps.log });
  return { lookup: cache.wrap(extensionIdentityLookup(deps)), cache, start: () => invalidation.start(), close: () => invalidation.close() };
}
