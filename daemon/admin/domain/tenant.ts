import { Problems } from '../../core/errors';
import { requireObject, text } from './fields';

export interface TenantFields {
  name: string;
  sipDomain: string;
}

// A DNS name: phones put it in their Request-URI and From, and the registrar picks the tenant by it.
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;

export function validateTenant(input: unknown): TenantFields {
  const body = requireObject(input);
  const p = new Problems();
  const name = text(p, 'name', body.name, { required: true, max: 100 });
  const rawDomain = text(p, 'sipDomain', body.sipDomain, { required: true, max: 253 });
  const sipDomain = rawDomain?.toLowerCase() ?? null;
  if (sipDomain !== null && !DOMAIN.test(sipDomain)) p.add('sipDomain', 'must be a DNS name such as acme.pbx.example.com');
  p.throwIfAny();
  return { name: name!, sipDomain: sipDomain! };
}
