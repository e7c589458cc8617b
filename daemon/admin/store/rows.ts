import type { Address } from '../domain/address';
import type { ExtensionSettings } from '../domain/extension';
import type { ProfileFields, ProfileStatus } from '../domain/profile';
import { fromJsonColumn, toBool } from '../../storage/json';

/** Records as the rest of the daemon sees them, mapped from rows in one place. */

export interface Tenant {
  id: string;
  name: string;
  sipDomain: string;
  primaryAdminUserId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Site {
  id: string;
  tenantId: string;
  name: string;
  address: Address;
  timezone: string;
  language: string;
  createdAt: string;
  updatedAt: string;
}

export interface User extends ProfileFields {
  id: string;
  tenantId: string;
  kind: 'person' | 'place';
  status: ProfileStatus;
  isAdmin: boolean;
  disabledAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Extension {
  id: string;
  tenantId: string;
  number: string;
  userId: string | null;
  siteId: string | null;
  settings: ExtensionSettings;
  pinSealed: string | null;
  sipUsername: string;
  sipPasswordSealed: string;
  sipRotatedAt: string;
  createdAt: string;
  updatedAt: string;
}

type Row = Record<string, any>;

export const tenantFromRow = (r: Row): Tenant => ({
  id: r.id, name: r.name, sipDomain: r.sip_domain, primaryAdminUserId: r.primary_admin_user_id ?? null,
  createdAt: r.created_at, updatedAt: r.updated_at,
});

export const siteFromRow = (r: Row): Site => ({
  id: r.id, tenantId: r.tenant_id, name: r.name, address: fromJsonColumn<Address>(r.address, null as unknown as Address),
  timezone: r.timezone, language: r.language, createdAt: r.created_at, updatedAt: r.updated_at,
});

export const userFromRow = (r: Row): User => ({
  id: r.id, tenantId: r.tenant_id, firstName: r.first_name, lastName: r.last_name, email: r.email,
  username: r.username, kind: r.kind, jobTitle: r.job_title ?? null, department: r.department ?? null,
  address: fromJsonColumn<Address | null>(r.address, null), personalPhone: r.personal_phone ?? null,
  language: r.language ?? null, siteId: r.site_id ?? null, directory: toBool(r.in_directory), status: r.status, isAdmin: toBool(r.is_admin),
  disabledAt: r.disabled_at ?? null, createdAt: r.created_at, updatedAt: r.updated_at,
});

// Settings stored before keys and fax machines existed read as none.
const storedSettings = (raw: string | null | undefined): ExtensionSettings => {
  const s = fromJsonColumn<ExtensionSettings>(raw, null as unknown as ExtensionSettings);
  if (!s) return s;
  return { ...s, keys: Array.isArray(s.keys) ? s.keys : [], fax: { ...s.fax, machine: s.fax.machine === true } };
};

export const extensionFromRow = (r: Row): Extension => ({
  id: r.id, tenantId: r.tenant_id, number: r.number, userId: r.user_id ?? null, siteId: r.site_id ?? null,
  settings: storedSettings(r.settings),
  pinSealed: r.voicemail_pin_sealed ?? null, sipUsername: r.sip_username, sipPasswordSealed: r.sip_password_sealed,
  sipRotatedAt: r.sip_rotated_at, createdAt: r.created_at, updatedAt: r.updated_at,
});
