/**
 * Who may register, as the registrar sees it. Extensions are one source
 * (their SIP credentials); pending phones are another (activation
 * credentials that reach only the registration service). The registrar
 * asks each source in turn and never learns where an identity is stored.
 */
export interface SipIdentity {
  kind: 'extension' | 'activation';
  tenantId: string | null;
  extensionId: string | null;
  deviceId: string | null;
  /** The digest username. */
  username: string;
  /** Plain text, needed to check a digest; never logged. */
  password: string;
  /** The digest realm: the tenant's SIP domain, or the activation domain. */
  realm: string;
  /** The address of record the bindings are kept under, `user@domain`. */
  aor: string;
}

export type SipIdentityLookup = (domain: string, username: string) => Promise<SipIdentity | null>;
