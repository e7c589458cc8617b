import { Problems } from '../../core/errors';
import { type Address, validateAddress } from './address';
import { requireObject, language, text, timezone } from './fields';

export interface SiteFields {
  name: string;
  address: Address;
  timezone: string;
  language: string;
}

export function validateSite(input: unknown, current?: SiteFields): SiteFields {
  const body = requireObject(input);
  const p = new Problems();
  const creating = current === undefined;
  const out: SiteFields = current ? structuredClone(current) : ({} as SiteFields);
  if (creating || 'name' in body) out.name = text(p, 'name', body.name, { required: true, max: 100 }) ?? '';
  if (creating || 'address' in body) out.address = validateAddress(p, 'address', body.address) as Address;
  if (creating || 'timezone' in body) out.timezone = timezone(p, 'timezone', body.timezone) ?? '';
  if (creating || 'language' in body) out.language = language(p, 'language', body.language ?? (creating ? 'en' : undefined)) ?? '';
  p.throwIfAny();
  return out;
}
