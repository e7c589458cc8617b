import t from 'tap';
import { ValidationError } from '../../daemon/core/errors';
import { validateSite } from '../../daemon/admin/domain/site';
import { validateTenant } from '../../daemon/admin/domain/tenant';

const address = { street: '1 Main St', city: 'Springfield', region: 'IL', postalCode: '62701', country: 'US' };

function fields(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ValidationError) return err.details.map((d) => d.field).sort();
    throw err;
  }
  return [];
}

t.test('a site needs a name, a complete address and a real time zone', async (t) => {
  t.same(validateSite({ name: 'HQ', address, timezone: 'America/Chicago' }), { name: 'HQ', address, timezone: 'America/Chicago', language: 'en' });
  t.same(fields(() => validateSite({ name: '', address: { street: 'x', country: 'USA' }, timezone: 'Mars/Olympus' })),
    ['address.city', 'address.country', 'address.postalCode', 'name', 'timezone']);
});

t.test('a site patch keeps what it does not name', async (t) => {
  const current = { name: 'HQ', address, timezone: 'America/Chicago', language: 'en' };
  t.same(validateSite({ name: 'Head office' }, current), { ...current, name: 'Head office' });
});

t.test('a tenant SIP domain is a lower-cased DNS name', async (t) => {
  t.same(validateTenant({ name: 'Acme', sipDomain: 'Acme.PBX.example.com' }), { name: 'Acme', sipDomain: 'acme.pbx.example.com' });
  t.same(fields(() => validateTenant({ name: 'Acme', sipDomain: 'acme;transport=tcp' })), ['sipDomain']);
  t.same(fields(() => validateTenant({ sipDomain: 'localhost' })), ['name', 'sipDomain']);
});
