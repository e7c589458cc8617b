import crypto from 'node:crypto';
import type { EffectiveSettings } from '../admin/domain/extension';

/**
 * One extension as a PBX needs it, whatever the PBX: identity, secrets and
 * the resolved settings. Built from the database by snapshot.ts; every PBX
 * mapping is a pure function of it.
 */
export interface PbxLine {
  extensionId: string;
  tenantId: string;
  domain: string;
  number: string;
  sipUsername: string;
  sipPassword: string;
  voicemailPin: string | null;
  firstName: string;
  lastName: string;
  language: string | null;
  timezone: string | null;
  settings: EffectiveSettings;
}

/**
 * The dialplan context of a tenant: its SIP domain, which operators recognise,
 * unless longer than Asterisk's 40-character column, then shortened with a
 * hash so two long domains never share a context.
 */
export function tenantContext(domain: string): string {
  if (domain.length <= 40) return domain;
  const hash = crypto.createHash('sha256').update(domain).digest('hex').slice(0, 8);
  return `${domain.slice(0, 31)}-${hash}`;
}

export function md5(text: string): string {
  return crypto.createHash('md5').update(text).digest('hex');
}
