import type { Problems } from '../../core/errors';
import { isPlainObject, text } from './fields';

export interface Address {
  street: string;
  city: string;
  region: string | null;
  postalCode: string;
  country: string;
}

/** A postal address complete enough to dispatch emergency services to. */
export function validateAddress(p: Problems, field: string, value: unknown): Address | null {
  if (!isPlainObject(value)) {
    p.add(field, 'must be an object with street, city, region, postalCode and country');
    return null;
  }
  const before = p.list.length;
  const street = text(p, `${field}.street`, value.street, { required: true, max: 200 });
  const city = text(p, `${field}.city`, value.city, { required: true, max: 100 });
  const region = text(p, `${field}.region`, value.region, { max: 100 });
  const postalCode = text(p, `${field}.postalCode`, value.postalCode, { required: true, max: 20 });
  const country = text(p, `${field}.country`, value.country, { required: true, max: 64 });
  if (country !== null && !/^[A-Z]{2}$/.test(country)) p.add(`${field}.country`, 'must be an ISO 3166-1 alpha-2 code such as US or FR');
  if (p.list.length > before) return null;
  return { street: street!, city: city!, region, postalCode: postalCode!, country: country! };
}
