import t from 'tap';
import { XMLParser } from 'fast-xml-parser';
import { DEFAULT_SETTINGS, effectiveSettings, applySettings } from '../../daemon/admin/domain/extension';
import { type PbxLine, md5, tenantContext } from '../../daemon/pbx/line';
import { callerIdString, realtimeText } from '../../daemon/pbx/asterisk/text';
import { pinChangedOnPhone, realtimeRows } from '../../daemon/pbx/asterisk/rows';
import { NOT_FOUND, directoryDocument } from '../../daemon/pbx/freeswitch/directory';

function line(input: Record<string, unknown> = {}, owner = { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@acme.test' }): PbxLine {
  const { settings } = applySettings(DEFAULT_SETTINGS, input, { number: '1001', profileEmail: owner.email });
  return {
    extensionId: 'e1', tenantId: 't1', domain: 'acme.sip.test', number: '1001', sipUsername: '1001xabc234', sipPassword: 'S3cretPassw0rd',
    voicemailPin: '480135', firstName: owner.firstName, lastName: owner.lastName, language: 'fr-CA', timezone: 'America/Montreal',
    settings: effectiveSettings(settings, { number: '1001', owner, siteAddress: null, pinSet: true }),
  };
}

t.test('realtime text is latin1, never holds ; or caller ID syntax', async (t) => {
  t.equal(realtimeText('José Müller', 80), 'José Müller', 'latin1 letters stay');
  t.equal(realtimeText('Łukasz Żółć', 80), 'Lukasz Zólc', 'others fold to their base letter, latin1 ones stay');
  t.equal(realtimeText('王小明', 80), '???');
  t.equal(realtimeText('a;b"c<d>e\\f', 80), 'a b c d e f');
  t.equal(realtimeText('x'.repeat(100), 10).length, 10);
});

t.test('the caller ID fits 40 characters and keeps the whole number', async (t) => {
  t.equal(callerIdString('Ada Lovelace', '1001'), '"Ada Lovelace" <1001>');
  const long = callerIdString('A very long display name that goes on and on', '+15551234567');
  t.ok(long.length <= 40, long);
  t.match(long, /<\+15551234567>$/);
});

t.test('tenant contexts are the domain, shortened with a hash past 40 characters', async (t) => {
  t.equal(tenantContext('acme.sip.test'), 'acme.sip.test');
  const a = tenantContext(`${'a'.repeat(40)}.example.com`);
  const b = tenantContext(`${'a'.repeat(40)}.example.org`);
  t.equal(a.length, 40);
  t.not(a, b);
});

t.test('Asterisk rows: digest only, codecs, mailbox, recording', async (t) => {
  const rows = realtimeRows(line({ codecs: ['OPUS', 'PCMU', 'G729'], recording: { mode: 'on_demand' }, musicOnHold: 'jazz' }));
  t.match(rows.endpoint, { id: '1001xabc234', aors: '1001xabc234', auth: '1001xabc234', context: 'acme.sip.test', disallow: 'all', allow: 'opus,ulaw,g729', callerid: '"Ada Lovelace" <1001>', mailboxes: '1001@acme.sip.test', moh_suggest: 'jazz', one_touch_recording: 'yes', language: 'fr' });
  t.equal(rows.auth.password, null, 'no plain-text password in Asterisk');
  t.equal(rows.auth.password_digest, `MD5:${md5('1001xabc234:acme.sip.test:S3cretPassw0rd')}`);
  t.equal(rows.auth.auth_type, 'userpass');
  t.match(rows.voicemail, { context: 'acme.sip.test', mailbox: '1001', password: '480135', email: 'ada@acme.test', fullname: 'Ada Lovelace' });
  const off = realtimeRows(line({ voicemail: { enabled: false } }));
  t.equal(off.voicemail, null);
  t.equal(off.endpoint.mailboxes, null);
  for (const row of [rows.endpoint, rows.auth, rows.aor, rows.voicemail!]) {
    for (const value of Object.values(row)) if (typeof value === 'string') t.notMatch(value, /;/, 'no ; reaches a realtime column');
  }
});

t.test('a PIN changed from the phone is recognised by its hash', async (t) => {
  const hash = (p: string) => `h(${p})`;
  t.equal(pinChangedOnPhone('480135', 'h(480135)', hash), null, 'unchanged');
  t.equal(pinChangedOnPhone('777123', 'h(480135)', hash), '777123', 'changed on the phone');
  t.equal(pinChangedOnPhone('777123', null, hash), null, 'nothing written yet: nothing to compare');
  t.equal(pinChangedOnPhone(null, 'h(480135)', hash), null, 'row gone');
  t.equal(pinChangedOnPhone("1'; drop", 'h(480135)', hash), null, 'junk in the row is not adopted');
});

t.test('the FreeSWITCH directory answer parses and carries the settings', async (t) => {
  const xml = directoryDocument(line({ forwarding: [{ condition: 'busy', destination: '2000' }, { condition: 'noAnswer', destination: '+15550001', afterSeconds: 25 }], externalCalling: 'international' }));
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml);
  const user = doc.document.section.domain.user;
  t.equal(doc.document.section.domain.name, 'acme.sip.test');
  t.equal(user.id, '1001xabc234');
  t.equal(user['number-alias'], '1001');
  const params = Object.fromEntries(user.params.param.map((p: { name: string; value: string }) => [p.name, p.value]));
  const vars = Object.fromEntries(user.variables.variable.map((p: { name: string; value: string }) => [p.name, String(p.value)]));
  t.equal(params['a1-hash'], md5('1001xabc234:acme.sip.test:S3cretPassw0rd'));
  t.notOk('password' in params, 'only the A1 hash');
  t.equal(String(params['vm-password']), '480135');
  t.equal(params['vm-mailto'], 'ada@acme.test');
  t.match(vars, { effective_caller_id_name: 'Ada Lovelace', effective_caller_id_number: '1001', toll_allow: 'local,domestic,international', forward_busy_enabled: 'true', forward_busy_destination: '2000', forward_no_answer_destination: '+15550001', call_timeout: '25', forward_all_enabled: 'false' });
});

t.test('hostile names are escaped in the XML', async (t) => {
  // The domain refuses these characters; the mapping must be safe even for a value that got past it.
  const l = line();
  l.settings.callerId.name = 'R&D </user><x a="1">';
  const xml = directoryDocument(l);
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml);
  const vars = Object.fromEntries(doc.document.section.domain.user.variables.variable.map((p: { name: string; value: string }) => [p.name, p.value]));
  t.notOk(Array.isArray(doc.document.section.domain.user), 'still one user');
  t.equal(vars.effective_caller_id_name, 'R&D </user><x a="1">', 'the name comes back as the same text');
  t.match(xml, /value="R&amp;D &lt;\/user&gt;&lt;x a=&quot;1&quot;&gt;"/);
  t.match(NOT_FOUND, /<result status="not found"\/>/);
});
