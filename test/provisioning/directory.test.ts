import t from 'tap';
import { XMLValidator } from 'fast-xml-parser';
import { startTestApp } from '../helpers/app';
import { deviceByMac } from '../../daemon/provisioning';
import type { Mac } from '../../daemon/provisioning/mac';
import { buildDirectory } from '../../daemon/provisioning/model/directory';
import { TemplateRenderer, templateData } from '../../daemon/provisioning/templates/render';
import { FAMILIES } from '../../daemon/provisioning/vendors/families';
import { exampleName } from '../../daemon/provisioning/vendors/match';
import { DEFAULT_SETTINGS } from '../../daemon/admin/domain/extension';
import { digestAnswer, provisioning } from './clients';
import { PER_DEVICE_FILE, fleet } from './fleet';
import { SERVER } from './samples';

const directoryName = (vendor: string, mac: string) => {
  const family = FAMILIES.find((f) => f.id === vendor)!;
  return `${family.subPaths[0]}/${exampleName(family.files.find((r) => r.directory)!, mac as Mac, null)}`;
};

t.test('the directory rules: who is listed, under which name, in which order', async (t) => {
  const ext = (number: string, userId: string | null, name: string | null = null) => ({ number, userId, settings: { ...DEFAULT_SETTINGS, callerId: { name, number: null } } });
  const d = buildDirectory({
    tenantName: 'Acme\nCorp',
    users: [
      { id: 'a', firstName: 'Zed', lastName: 'Adams', status: 'active', directory: true },
      { id: 'b', firstName: 'amy', lastName: 'adams', status: 'active', directory: true },
      { id: 'c', firstName: 'Out', lastName: 'Opted', status: 'active', directory: false },
      { id: 'd', firstName: 'Dis', lastName: 'Abled', status: 'disabled', directory: true },
    ],
    extensions: [ext('1010', 'a', 'ACME SALES'), ext('1002', 'b'), ext('1003', 'c'), ext('1004', 'd'), ext('1009', 'a'), ext('3000', null, 'Board Room'), ext('3001', null)],
  });
  t.equal(d.title, 'Acme Corp', 'a line break in the tenant name becomes a space');
  t.same(d.entries.map((e) => [e.name, e.number]), [
    ['3001', '3001'], ['amy adams', '1002'], ['Zed Adams', '1009'], ['Zed Adams', '1010'], ['Board Room', '3000'],
  ], 'sorted by last name (case and accents ignored), first name, number; the profile\'s name over a caller ID; a place under its caller ID name, or its number');
  t.notOk(d.entries.some((e) => /Opted|Abled/.test(e.name)), 'an opted-out or disabled profile is not listed');
});

t.test('a huge tenant: every entry, in every vendor format, well-formed', async (t) => {
  const users = Array.from({ length: 5000 }, (_, i) => ({ id: `u${i}`, firstName: `Fïrst <${i}>`, lastName: `Läst & "${i}"\u0007`, status: 'active' as const, directory: true }));
  const extensions = users.map((u, i) => ({ number: String(100000 + i), userId: u.id, settings: DEFAULT_SETTINGS }));
  const d = buildDirectory({ tenantName: 'Big', users, extensions });
  t.equal(d.entries.length, 5000);
  const renderer = new TemplateRenderer();
  for (const family of FAMILIES) {
    const rule = family.files.find((r) => r.directory)!;
    const out = renderer.render(family, rule, templateData(family, { name: 'x', mac: null, model: null, tag: null }, null, SERVER.provisioningUrl, undefined, d));
    t.equal(XMLValidator.validate(out), true, `${family.id}: well-formed`);
    t.equal(out.split('104999').length - 1, 1, `${family.id}: the last entry is there once`);
    t.notMatch(out, /\u0007/, `${family.id}: no control character reaches the file`);
    t.match(out, 'Läst &amp; &quot;4999&quot;', `${family.id}: names escaped, letters kept`);
  }
});

t.test('every vendor fetches its directory behind its own credentials, and a change reaches the next fetch', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  const f = await fleet(ta);
  const place = await ta.call('POST', '/api/v1/extensions', { token: f.token, body: { number: '3000', place: { name: 'Board Room' } } });
  t.equal(place.status, 201, place.raw);
  t.equal((await ta.call('PATCH', `/api/v1/users/${place.body.userId}`, { token: f.token, body: { lastName: 'Room <&>' } })).status, 200);
  for (const d of f.devices) {
    const cfg = await ta.call('GET', `/prov/${PER_DEVICE_FILE[d.vendor]!(d.mac)}`, { headers: { 'user-agent': d.ua } });
    t.equal(cfg.status, 200, `${d.vendor}: the phone's file`);
    const url = `/prov/${directoryName(d.vendor, d.mac)}`;
    if (d.vendor !== 'polycom') t.match(cfg.raw, directoryName(d.vendor, d.mac).split('/').slice(1).join('/').replace(/\/phonebook\.xml$/, ''), `${d.vendor}: the file points at the directory`);
    const challenge = await ta.call('GET', url, { headers: { 'user-agent': d.ua } });
    t.equal(challenge.status, 401, `${d.vendor}: no credentials, no directory`);
    const device = (await deviceByMac(ta.app.runtime.db.knex, d.mac as Mac))!;
    const header = digestAnswer(challenge.headers['www-authenticate'], device.provUsername, ta.app.runtime.secrets.open(device.provPasswordSealed), url);
    const dir = await ta.call('GET', url, { headers: { 'user-agent': d.ua, authorization: header } });
    t.equal(dir.status, 200, `${d.vendor}: the device's credentials open it`);
    t.equal(XMLValidator.validate(dir.raw), true, `${d.vendor}: well-formed`);
    t.match(dir.raw, /Grace|Hopper/, `${d.vendor}: the tenant's profile`);
    t.match(dir.raw, 'Room &lt;&amp;&gt;', `${d.vendor}: the place, escaped`);
    t.notMatch(dir.raw, d.creds.password, `${d.vendor}: no secret in it`);
  }
  // Every phone now holds its credentials: none opens a neighbour's directory with them.
  for (const [i, d] of f.devices.entries()) {
    const other = f.devices[(i + 1) % f.devices.length]!;
    const device = (await deviceByMac(ta.app.runtime.db.knex, d.mac as Mac))!;
    const otherUrl = `/prov/${directoryName(other.vendor, other.mac)}`;
    const otherChallenge = await ta.call('GET', otherUrl, { headers: { 'user-agent': other.ua } });
    const borrowed = digestAnswer(otherChallenge.headers['www-authenticate'], device.provUsername, ta.app.runtime.secrets.open(device.provPasswordSealed), otherUrl);
    const stolen = await ta.call('GET', otherUrl, { headers: { 'user-agent': other.ua, authorization: borrowed } });
    t.equal(stolen.status, 401, `${d.vendor}: its credentials do not open the ${other.vendor} phone's directory`);
  }

  // A rename, and an opt-out, reach the next fetch: the cached directory was dropped.
  const yealink = f.devices.find((d) => d.vendor === 'yealink')!;
  const url = `/prov/${directoryName('yealink', yealink.mac)}`;
  const device = (await deviceByMac(ta.app.runtime.db.knex, yealink.mac as Mac))!;
  const fetchIt = async () => {
    const c = await ta.call('GET', url, { headers: { 'user-agent': yealink.ua } });
    return ta.call('GET', url, { headers: { 'user-agent': yealink.ua, authorization: digestAnswer(c.headers['www-authenticate'], device.provUsername, ta.app.runtime.secrets.open(device.provPasswordSealed), url) } });
  };
  t.equal((await ta.call('PATCH', `/api/v1/users/${f.user.id}`, { token: f.token, body: { lastName: 'Hopper-Renamed' } })).status, 200);
  t.match((await fetchIt()).raw, 'Grace Hopper-Renamed', 'a renamed profile');
  const optOut = await ta.call('PATCH', `/api/v1/users/${f.user.id}`, { token: f.token, body: { directory: false } });
  t.equal(optOut.body.directory, false, 'the opt-out is set through the API');
  t.notMatch((await fetchIt()).raw, 'Grace', 'an opted-out profile leaves the directory');
  const bad = await ta.call('PATCH', `/api/v1/users/${f.user.id}`, { token: f.token, body: { directory: 'no' } });
  t.equal(bad.status, 400, 'directory must be a boolean');
  t.match(bad.body.details, [{ field: 'directory' }]);

  // The tenant turns its directory off: none is served, and the phones' files stop pointing at it.
  t.equal((await ta.call('PUT', `/api/v1/tenants/${f.tenant.id}/provisioning-overrides`, { token: f.token, body: { directory: false } })).status, 200);
  t.equal((await fetchIt()).status, 404, 'a tenant with its directory off serves none');
  const badOverride = await ta.call('PUT', `/api/v1/tenants/${f.tenant.id}/provisioning-overrides`, { token: f.token, body: { directory: 'off' } });
  t.equal(badOverride.status, 400);
  t.match(badOverride.body.details, [{ field: 'body.directory' }]);
});

t.test('no directory over TFTP, to an unknown MAC, or to a phone not yet provisioned', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  const f = await fleet(ta);
  const files = provisioning(ta).files;
  const yealink = f.devices.find((d) => d.vendor === 'yealink')!;
  await ta.call('GET', `/prov/${yealink.mac}.cfg`, { headers: { 'user-agent': yealink.ua } });
  const tftp = await files.fetch({ name: directoryName('yealink', yealink.mac), transport: 'tftp', source: '127.0.0.1' });
  t.equal(tftp.status, 'not_found', 'TFTP carries no credentials: no directory over it');
  const snom = f.devices.find((d) => d.vendor === 'snom')!;
  const early = await ta.call('GET', `/prov/${directoryName('snom', snom.mac)}`, { headers: { 'user-agent': snom.ua } });
  t.equal(early.status, 404, 'a phone that has not fetched its configuration has no credentials to ask with');
  const unknown = await ta.call('GET', `/prov/${directoryName('yealink', '001565999999')}`, {});
  t.equal(unknown.status, 404, 'an unknown MAC');
  t.equal(await deviceByMac(ta.app.runtime.db.knex, '001565999999' as Mac), null, 'and no pending device is recorded for it');
});
