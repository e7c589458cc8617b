import crypto from 'node:crypto';
import t from 'tap';
import type { Message } from 'sip';
import type { Test } from 'tap';
import { PROMPT_NAMES } from '../../daemon/activation/entry';
import { builtinPromptsDir, loadPrompts } from '../../daemon/media/prompts';
import { ACTIVATION_DOMAIN, TestPhone, heardAt, heardShare, sleep } from '../helpers/phone';
import { answer } from '../helpers/sip-client';
import { type SipFixture, sipFixture } from '../helpers/sip';
import { ENGINE_KINDS, type EngineKind, engineEnv } from '../helpers/drachtio-server';

const prompts = loadPrompts(builtinPromptsDir(), 'en', PROMPT_NAMES);
const ulaw = (name: (typeof PROMPT_NAMES)[number]) => prompts[name].PCMU;

async function until(t: Test, what: string, test: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what}`);
    await sleep(50);
  }
  t.pass(what);
}

/** An INVITE without credentials sent from `via` as `as` would write it, its 407 ACKed as a phone does (drachtio-server holds the transaction until then). */
async function challenged(via: TestPhone, as: TestPhone, callId: string, edit = (text: string) => text): Promise<Message> {
  const branch = `z9hG4bK${crypto.randomBytes(6).toString('hex')}`;
  const res = await via.sip.request(edit(as.inviteText({ callId, sdp: as.sdp(), branch })));
  via.sip.send(edit(as.inviteText({ callId, sdp: '', branch, method: 'ACK', toTag: res.headers.to!.params.tag ?? undefined })));
  return res;
}

async function codeFor(f: SipFixture): Promise<string> {
  return (await f.ta.call('POST', `/api/v1/extensions/${f.extension.id}/activation-code`, { token: f.token })).body.code as string;
}

/** The whole path of a person at an unknown phone: greeting, code, read-back, thank you, hang-up, reboot, bound. */
async function activates(t: Test, kind: EngineKind, key: (phone: TestPhone, code: string) => Promise<void>, mac: string): Promise<void> {
  const f = await sipFixture(t, { ...await engineEnv(t, kind), DIALTONE_ACTIVATION_DOMAIN: ACTIVATION_DOMAIN });
  const phone = await TestPhone.boot(t, f, mac);
  const code = await codeFor(f);
  const ok = await phone.dial(`call-${mac}`);
  t.equal(ok.status, 200, 'the registration service answers');
  t.match(ok.content, /m=audio \d+ RTP\/AVP 0 101\r\n/, 'in the phone\'s first codec, with telephone-event');

  await until(t, 'the phone hears the greeting, then "enter your code"', () => heardShare(phone.heard, ulaw('greeting')) > 0.9 && heardShare(phone.heard, ulaw('enter-code')) > 0.3);
  t.ok(heardAt(phone.heard, ulaw('greeting')) < heardAt(phone.heard, ulaw('enter-code')), 'in that order');
  const first = phone.heard[0]!;
  t.ok(phone.heard.every((h) => h.payloadType === 0 && h.ssrc === first.ssrc), 'PCMU, one SSRC');
  t.ok(phone.heard.every((h, i) => i === 0 || ((h.timestamp - phone.heard[i - 1]!.timestamp) >>> 0) % 160 === 0), 'timestamps step by whole 20 ms frames');

  await key(phone, code);
  const bye = await phone.next('BYE');
  t.equal(bye.headers['call-id'], `call-${mac}`, 'dialtone hangs up');
  for (const d of new Set(code)) t.ok(heardShare(phone.heard, ulaw(`digit-${d}` as 'digit-0')) > 0.8, `the code is read back (digit ${d})`);
  t.ok(heardShare(phone.heard, ulaw('thank-you')) > 0.9, '"thank you, your phone will now restart"');
  t.ok(heardAt(phone.heard, ulaw('thank-you')) > heardAt(phone.heard, ulaw(`digit-${code[9]}` as 'digit-0')), 'after the read-back');
  const reboot = await phone.next('NOTIFY');
  t.equal(reboot.headers.event, 'check-sync;reboot=true', 'the phone is told to reboot into its new configuration');

  const device = (await f.ta.call('GET', `/api/v1/devices?mac=${mac}`, { token: f.token })).body.items[0];
  t.equal(device.extensionId, f.extension.id, 'the phone is bound to the extension of the code');
  t.equal((await f.ta.call('GET', `/api/v1/extensions/${f.extension.id}/activation-code`, { token: f.token })).status, 404, 'the code is spent');
  const events = (await f.ta.call('GET', `/api/v1/devices/${device.id}/events`, { token: f.token })).body.items as { kind: string; result: string; detail: string }[];
  t.ok(events.some((e) => e.kind === 'call' && e.result === 'answered'), 'the call is in the timeline');
  t.ok(events.some((e) => e.kind === 'assigned' && e.result === 'activated'), 'so is the activation');
  t.notOk(events.some((e) => e.detail?.includes(code)), 'never the digits');
}

/** The IVR on each engine: the built-in one, and a real drachtio-server when DRACHTIO_BIN names one (the stand-in's activation call is in engine-scenarios). */
for (const { kind, name, skip } of ENGINE_KINDS.filter((e) => e.kind !== 'standin')) {
  t.test(`the registration service on the ${name}`, { skip }, async (tt) => {
  tt.test('an unknown phone hears the greeting and activates by RFC 4733 events', (t) => activates(t, kind, (p, code) => p.keyEvents(code), '805ec0aa0001'));

  tt.test('an unknown phone activates by SIP INFO', (t) => activates(t, kind, async (p, code) => {
    t.same(await p.keyInfo(code), new Array(10).fill(200), 'every INFO answered 200');
  }, '805ec0aa0002'));

  tt.test('an unknown phone activates by tones in its audio', (t) => activates(t, kind, (p, code) => p.keyTones(code), '805ec0aa0003'));

  tt.test('a wrong code plays "not valid"; the third gets goodbye and the call ends', async (t) => {
    const f = await sipFixture(t, { ...await engineEnv(t, kind), DIALTONE_ACTIVATION_DOMAIN: ACTIVATION_DOMAIN });
    const phone = await TestPhone.boot(t, f, '805ec0aa0004');
    await codeFor(f);
    t.equal((await phone.dial('wrong')).status, 200);
    await until(t, 'the greeting plays', () => heardShare(phone.heard, ulaw('greeting')) > 0.3);
    await phone.keyEvents('0000000000');
    await until(t, '"that code is not valid"', () => heardShare(phone.heard, ulaw('code-not-valid')) > 0.9);
    t.ok(heardShare(phone.heard, ulaw('greeting')) < 0.9, 'the key press cut the greeting short');
    t.same(await phone.keyInfo('1234567890'), new Array(10).fill(200));
    await phone.keyEvents('5555555555');
    const bye = await phone.next('BYE');
    t.equal(bye.headers['call-id'], 'wrong', 'the third wrong code ends the call');
    t.ok(heardShare(phone.heard, ulaw('goodbye')) > 0.9, '"too many tries, goodbye" before it');
    const device = (await f.ta.call('GET', '/api/v1/devices?mac=805ec0aa0004', { token: f.ta.operatorToken })).body.items[0];
    t.equal(device.extensionId, null, 'not bound');
    const events = (await f.ta.call('GET', `/api/v1/devices/${device.id}/events`, { token: f.ta.operatorToken })).body.items as { kind: string; result: string; detail: string }[];
    t.equal(events.filter((e) => e.kind === 'call' && e.result === 'refused').length, 3, 'each wrong code is in the timeline');
    t.ok(events.some((e) => e.kind === 'call' && e.result === 'goodbye'));
    t.notOk(events.some((e) => /0000000000|1234567890|5555555555/.test(e.detail ?? '')), 'never the digits');
  });

  tt.test('an expired code is said to be expired, and another try follows', async (t) => {
    const f = await sipFixture(t, { ...await engineEnv(t, kind), DIALTONE_ACTIVATION_DOMAIN: ACTIVATION_DOMAIN });
    const phone = await TestPhone.boot(t, f, '805ec0aa0008');
    const code = await codeFor(f);
    await f.ta.app.runtime.db.knex('activation_codes').where('extension_id', f.extension.id).update({ expires_at: '2000-01-01T00:00:00.000Z' });
    t.equal((await phone.dial('expired')).status, 200);
    await phone.keyInfo(code);
    await until(t, '"that code has expired", then "enter your code" again', () => heardShare(phone.heard, ulaw('code-expired')) > 0.9 && heardAt(phone.heard, ulaw('enter-code')) >= 0);
    t.ok(heardShare(phone.heard, ulaw('code-not-valid')) < 0.1, 'not "not valid"');
    t.equal((await phone.sip.request(phone.inDialog('BYE'))).status, 200, 'the caller hangs up; the call was still open for another try');
  });

  tt.test('when the store fails, the caller hears "the system is busy" and the call ends', async (t) => {
    const f = await sipFixture(t, { ...await engineEnv(t, kind), DIALTONE_ACTIVATION_DOMAIN: ACTIVATION_DOMAIN });
    const phone = await TestPhone.boot(t, f, '805ec0aa0009');
    const code = await codeFor(f);
    t.equal((await phone.dial('busy')).status, 200);
    const knex = f.ta.app.runtime.db.knex;
    await knex.schema.renameTable('activation_codes', 'activation_codes_away');
    t.teardown(() => knex.schema.renameTable('activation_codes_away', 'activation_codes'));
    await phone.keyInfo(code);
    const bye = await phone.next('BYE');
    t.equal(bye.headers['call-id'], 'busy');
    t.ok(heardShare(phone.heard, ulaw('system-busy')) > 0.9, '"the system is busy, please try again later" before it');
  });

  tt.test('who may call: a pending phone proven by its activation credentials, and registered', async (t) => {
    const f = await sipFixture(t, { ...await engineEnv(t, kind), DIALTONE_ACTIVATION_DOMAIN: ACTIVATION_DOMAIN });
    const phone = await TestPhone.boot(t, f, '805ec0aa0005');
    const bare = await challenged(phone, phone, 'c1');
    t.equal(bare.status, 407, 'the INVITE is challenged');
    t.match(bare.headers['proxy-authenticate'], [{ realm: `"${ACTIVATION_DOMAIN}"` }], 'in the activation realm');
    const wrong = answer(bare, { username: phone.user, password: 'not-the-password', uri: `sip:*8000@${ACTIVATION_DOMAIN}`, method: 'INVITE' });
    t.equal((await phone.sip.request(phone.inviteText({ callId: 'c1', cseq: 2, sdp: phone.sdp(), auth: wrong }))).status, 403, 'a wrong password is refused');
    const right = answer(bare, { username: phone.user, password: phone.password, uri: `sip:*8000@${ACTIVATION_DOMAIN}`, method: 'INVITE' });
    const ok = await phone.sip.request(phone.inviteText({ callId: 'c2', sdp: phone.sdp(), auth: right }));
    t.equal(ok.status, 200, 'the right credentials are let in');
    phone.call = ok;
    phone.sip.send(phone.inDialog('ACK'));
    t.equal((await phone.sip.request(phone.inDialog('BYE'))).status, 200);
    t.equal((await phone.sip.request(phone.inviteText({ callId: 'c3', sdp: phone.sdp(), auth: right }))).status, 407, 'the same credentials again are a replay: challenged afresh');

    const stranger = await TestPhone.boot(t, f, '805ec0aa0006');
    const stolen = await challenged(stranger, phone, 'c4');
    t.equal(stolen.status, 407, 'another phone using this one\'s identity must prove it');
    const guessed = answer(stolen, { username: phone.user, password: stranger.password, uri: `sip:*8000@${ACTIVATION_DOMAIN}`, method: 'INVITE' });
    t.equal((await stranger.sip.request(phone.inviteText({ callId: 'c4', cseq: 2, sdp: phone.sdp(), auth: guessed }))).status, 403, 'and cannot');

    const unregistered = await TestPhone.boot(t, f, '805ec0aa0007', { register: false });
    const refused = await unregistered.invite({ callId: 'c5', sdp: unregistered.sdp() });
    t.equal(refused.status, 403, 'a pending phone not registered cannot be restarted after activation, so it is refused');
    t.match(refused.headers.warning, /register with the activation credentials first/);

    const extension = await challenged(phone, phone, 'c6', (text) => text.replace(`From: <sip:${phone.user}@`, `From: <sip:${f.creds.username}@`));
    const asExtension = answer(extension, { username: f.creds.username, password: f.creds.password, uri: `sip:*8000@${ACTIVATION_DOMAIN}`, method: 'INVITE' });
    t.equal((await phone.sip.request(phone.inviteText({ callId: 'c6', cseq: 2, sdp: phone.sdp(), auth: asExtension }))).status, 403, 'an extension\'s credentials are not activation credentials');
  });
  });
}
