import { makeTenant, type TestApp } from '../helpers/app';

/** A tenant with a site, a user and an extension: what a device is provisioned from. */
export async function provisionedExtension(ta: TestApp, domain = 'acme.pbx.example.com') {
  const t = await makeTenant(ta, domain);
  const site = await ta.call('POST', '/api/v1/sites', {
    token: t.token,
    body: { name: 'HQ', address: { street: '1 Main St', city: 'Springfield', region: 'IL', postalCode: '62701', country: 'US' }, timezone: 'America/Chicago', language: 'en' },
  });
  const user = await ta.call('POST', '/api/v1/users', { token: t.token, body: { firstName: 'Grace', lastName: 'Hopper', email: `grace@${domain}`, siteId: site.body.id } });
  const ext = await ta.call('POST', '/api/v1/extensions', { token: t.token, body: { number: '1001', userId: user.body.id } });
  if (ext.status !== 201) throw new Error(`extension: ${ext.status} ${ext.raw}`);
  const { sipCredentials } = await import('../../daemon/admin/service/extensions');
  const creds = await sipCredentials({ knex: ta.app.runtime.db.knex, secrets: ta.app.runtime.secrets }, { tenantId: null, actor: 'test' }, ext.body.id);
  return { ...t, site: site.body, user: user.body, extension: ext.body, creds };
}
