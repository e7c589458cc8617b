import t from 'tap';
import { XMLParser } from 'fast-xml-parser';
import { makeTenant, startTestApp } from '../helpers/app';
import type { SipComponent } from '../../daemon/sip/component';

const AUTH = 'freeswitch:gateway-secret-123';
const basic = (cred: string) => `Basic ${Buffer.from(cred).toString('base64')}`;

t.test('FreeSWITCH directory over mod_xml_curl', async (t) => {
  const ta = await startTestApp(t, 'sqlite', { env: { DIALTONE_FREESWITCH_AUTH: AUTH } });
  await ta.app.listen();
  const dialtone = (ta.app.components.find((c) => c.name === 'sip') as SipComponent).sip.registrarAddress();
  const acme = await makeTenant(ta, 'acme.sip.test');
  const user = await ta.call('POST', '/api/v1/users', { token: acme.token, body: { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@acme.test' } });
  await ta.call('POST', '/api/v1/extensions', { token: acme.token, body: { number: '1001', userId: user.body.id, voicemail: { pin: '480135' } } });
  const sipUser = (await ta.app.runtime.db.knex('extensions').first('sip_username')).sip_username;
  const form = (fields: Record<string, string>) => ({
    payload: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(AUTH) },
  });
  const parse = (xml: string) => new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml);

  const byAuth = await ta.call('POST', '/pbx/freeswitch/directory', form({ section: 'directory', user: sipUser, domain: 'acme.sip.test', action: 'sip_auth' }));
  t.equal(byAuth.status, 200);
  t.match(byAuth.headers['content-type'], /text\/xml/);
  t.equal(parse(byAuth.raw).document.section.domain.user.id, sipUser);
  const byNumber = await ta.call('POST', '/pbx/freeswitch/directory', form({ section: 'directory', user: '1001', domain: 'ACME.sip.test', action: 'user_call' }));
  t.equal(parse(byNumber.raw).document.section.domain.user['number-alias'], '1001');
  const params = parse(byNumber.raw).document.section.domain.user.params.param as { name: string; value: string }[];
  t.match(params.find((p) => p.name === 'dial-string')?.value, new RegExp(`sofia/internal/1001@acme\\.sip\\.test;fs_path=sip:${dialtone.replace(/\./g, '\\.')}%3Blr$`), 'FreeSWITCH reaches the user through dialtone');

  const cases: Record<string, string>[] = [
    { section: 'directory', user: '1002', domain: 'acme.sip.test' },
    { section: 'directory', user: '1001', domain: 'beta.sip.test' },
    { section: 'dialplan', user: '1001', domain: 'acme.sip.test' },
    { section: 'directory', user: "1001' or '1'='1", domain: 'acme.sip.test' },
    { section: 'directory', user: 'x'.repeat(5000), domain: 'acme.sip.test' },
    { section: 'directory' },
  ];
  for (const fields of cases) {
    const res = await ta.call('POST', '/pbx/freeswitch/directory', form(fields));
    t.equal(res.status, 200);
    t.equal(parse(res.raw).document.section.result.status, 'not found', JSON.stringify(fields).slice(0, 60));
  }
  const other = await makeTenant(ta, 'beta.sip.test');
  t.ok(other.tenant.id, 'a second tenant does not see the first one\'s users');
  const cross = await ta.call('POST', '/pbx/freeswitch/directory', form({ section: 'directory', user: sipUser, domain: 'beta.sip.test' }));
  t.equal(parse(cross.raw).document.section.result.status, 'not found');

  const noAuth = await ta.call('POST', '/pbx/freeswitch/directory', { payload: 'section=directory&user=1001&domain=acme.sip.test', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  t.equal(noAuth.status, 401);
  const wrong = await ta.call('POST', '/pbx/freeswitch/directory', { payload: 'section=directory', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic('freeswitch:wrong') } });
  t.equal(wrong.status, 401);
  const big = await ta.call('POST', '/pbx/freeswitch/directory', { payload: 'a='.padEnd(20000, 'x'), headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(AUTH) } });
  t.equal(big.status, 413);
});

t.test('no directory unless configured', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  const res = await ta.call('POST', '/pbx/freeswitch/directory', { payload: 'section=directory', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(AUTH) } });
  t.equal(res.status, 404);
});
