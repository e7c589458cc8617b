import t from 'tap';
import { XMLParser } from 'fast-xml-parser';
import { DEFAULT_SETTINGS, effectiveSettings, applySettings } from '../../daemon/admin/domain/extension';
import { type PbxLine, md5, tenantContext } from '../../daemon/pbx/line';
import { callerIdString, realtimeText } from '../../daemon/pbx/asterisk/text';
import { pinChangedOnPhone, realtimeRows } from '../../daemon/pbx/asterisk/rows';
import { NOT_FOUND, dialString, directoryDocument } from '../../daemon/pbx/freeswitch/directory';
import { type DialtoneEdge, edgeUri, parseHostPort, resolveEdge } from '../../daemon/pbx/edge';

const EDGE: DialtoneEdge = { host: 'sip.dialtone.test', port: 5060, addresses: ['192.0.2.10', '2001:db8::10'] };

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

t.test('Asterisk rows: codecs, mailbox, recording; no digest, calls only from and through dialtone', async (t) => {
  const rows = realtimeRows(line({ codecs: ['OPUS', 'PCMU', 'G729'], recording: { mode: 'on_demand' }, musicOnHold: 'jazz' }), EDGE);
  t.match(rows.endpoint, { id: '1001xabc234', aors: '1001xabc234', context: 'acme.sip.test', disallow: 'all', allow: 'opus,ulaw,g729', callerid: '"Ada Lovelace" <1001>', mailboxes: '1001@acme.sip.test', moh_suggest: 'jazz', one_touch_recording: 'yes', language: 'fr' });
  t.equal(rows.endpoint.auth, null, 'no inbound digest: dialtone authenticated the phone');
  t.notOk('auth' in rows, 'no ps_auths row');
  t.match(rows.endpoint, {
    identify_by: 'username', rewrite_contact: 'no', trust_id_inbound: 'yes',
    outbound_proxy: 'sip:sip.dialtone.test:5060^3Blr',
    deny: '0.0.0.0/0,::/0', permit: '192.0.2.10/32,2001:db8::10/128',
  });
  t.match(rows.aor, {
    contact: 'sip:1001@acme.sip.test', outbound_proxy: 'sip:sip.dialtone.test:5060^3Blr',
    max_contacts: 0, qualify_frequency: 60, qualify_2xx_only: 'yes', authenticate_qualify: 'no',
  });
  t.match(rows.voicemail, { context: 'acme.sip.test', mailbox: '1001', password: '480135', email: 'ada@acme.test', fullname: 'Ada Lovelace' });
  const off = realtimeRows(line({ voicemail: { enabled: false } }), EDGE);
  t.equal(off.voicemail, null);
  t.equal(off.endpoint.mailboxes, null);
  for (const row of [rows.endpoint, rows.aor, rows.voicemail!]) {
    for (const [column, value] of Object.entries(row)) {
      if (typeof value === 'string' && column !== 'set_var') t.notMatch(value, /;/, `no ; reaches the realtime column ${column}`);
    }
  }
});

t.test('fax settings reach Asterisk as channel variables, one set_var per piece', async (t) => {
  const off = realtimeRows(line(), EDGE).endpoint.set_var as string;
  t.same(off.split(';'), ['DIALTONE_FAX_MODE=disabled', 'DIALTONE_FAX_EMAIL=', 'DIALTONE_FAX_DETECT=no']);
  const on = realtimeRows(line({ fax: { mode: 'link_and_attachment', email: 'fax@acme.test' } }), EDGE).endpoint.set_var as string;
  t.same(on.split(';'), ['DIALTONE_FAX_MODE=link_and_attachment', 'DIALTONE_FAX_EMAIL=fax@acme.test', 'DIALTONE_FAX_DETECT=yes']);
  const profile = realtimeRows(line({ fax: { mode: 'attachment' } }), EDGE).endpoint.set_var as string;
  t.match(profile, /DIALTONE_FAX_EMAIL=ada@acme\.test/, 'the profile email when the extension names none');
  const hostile = line({ fax: { mode: 'attachment' } });
  hostile.settings.fax.email = 'a;DIALTONE_FAX_MODE=x^3B"@acme.test';
  const pieces = (realtimeRows(hostile, EDGE).endpoint.set_var as string).split(';');
  t.equal(pieces.length, 3, 'a ; in a value cannot add a variable');
  t.equal(pieces.filter((p) => p.startsWith('DIALTONE_FAX_MODE=')).length, 1);
});

t.test("dialtone's address: host:port in, a loose route out, written for each PBX", async (t) => {
  t.same(parseHostPort('192.0.2.10:5060'), { host: '192.0.2.10', port: 5060 });
  t.same(parseHostPort('[2001:db8::1]:5080'), { host: '2001:db8::1', port: 5080 });
  t.same(parseHostPort('2001:db8::1:5080'), { host: '2001:db8::1', port: 5080 }, 'registrarAddress() leaves IPv6 unbracketed');
  for (const bad of ['', 'host', 'host:0', 'host:70000', 'a;lr:5060', 'a b:5060', '<x>:5060']) t.throws(() => parseHostPort(bad), /must be host:port/, bad);
  t.equal(edgeUri({ host: '2001:db8::1', port: 5080 }), 'sip:[2001:db8::1]:5080;lr');
  t.equal(realtimeRows(line(), { host: '2001:db8::1', port: 5080, addresses: ['2001:db8::1'] }).aor.outbound_proxy, 'sip:[2001:db8::1]:5080^3Blr');
  t.same(await resolveEdge('127.0.0.1:5062'), { host: '127.0.0.1', port: 5062, addresses: ['127.0.0.1'] });
  t.match(await resolveEdge('localhost:5062'), { host: 'localhost', port: 5062, addresses: ['127.0.0.1'] });
  const many = realtimeRows(line(), { ...EDGE, addresses: Array.from({ length: 10 }, (_, i) => `2001:db8::${i}`) }).endpoint.permit as string;
  t.ok(many.length <= 95, `permit fits its column: ${many}`);
  t.equal(many.split(',')[0], '2001:db8::0/128');
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
  const xml = directoryDocument(line({ forwarding: [{ condition: 'busy', destination: '2000' }, { condition: 'noAnswer', destination: '+15550001', afterSeconds: 25 }], externalCalling: 'international' }), EDGE);
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml);
  const user = doc.document.section.domain.user;
  t.equal(doc.document.section.domain.name, 'acme.sip.test');
  t.equal(user.id, '1001xabc234');
  t.equal(user['number-alias'], '1001');
  const params = Object.fromEntries(user.params.param.map((p: { name: string; value: string }) => [p.name, p.value]));
  const vars = Object.fromEntries(user.variables.variable.map((p: { name: string; value: string }) => [p.name, String(p.value)]));
  t.equal(params['a1-hash'], md5('1001xabc234:acme.sip.test:S3cretPassw0rd'));
  t.equal(params['dial-string'], '{sip_invite_domain=${dialed_domain},presence_id=${dialed_user}@${dialed_domain}}sofia/internal/1001@acme.sip.test;fs_path=sip:sip.dialtone.test:5060%3Blr', 'calls to the user go through dialtone with a loose route');
  t.equal(dialString({ number: '1001', domain: 'acme.sip.test' }, { host: '::1', port: 5060, addresses: [] }), '{sip_invite_domain=${dialed_domain},presence_id=${dialed_user}@${dialed_domain}}sofia/internal/1001@acme.sip.test;fs_path=sip:[::1]:5060%3Blr');
  t.notOk('password' in params, 'only the A1 hash');
  t.equal(String(params['vm-password']), '480135');
  t.equal(params['vm-mailto'], 'ada@acme.test');
  t.match(vars, { effective_caller_id_name: 'Ada Lovelace', effective_caller_id_number: '1001', toll_allow: 'local,domestic,international', forward_busy_enabled: 'true', forward_busy_destination: '2000', forward_no_answer_destination: '+15550001', call_timeout: '25', forward_all_enabled: 'false' });
});

t.test('hostile names are escaped in the XML', async (t) => {
  // The domain refuses these characters; the mapping must be safe even for a value that got past it.
  const l = line();
  l.settings.callerId.name = 'R&D </user><x a="1">';
  const xml = directoryDocument(l, EDGE);
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml);
  const vars = Object.fromEntries(doc.document.section.domain.user.variables.variable.map((p: { name: string; value: string }) => [p.name, p.value]));
  t.notOk(Array.isArray(doc.document.section.domain.user), 'still one user');
  t.equal(vars.effective_caller_id_name, 'R&D </user><x a="1">', 'the name comes back as the same text');
  t.match(xml, /value="R&amp;D &lt;\/user&gt;&lt;x a=&quot;1&quot;&gt;"/);
  t.match(NOT_FOUND, /<result status="not found"\/>/);
});
