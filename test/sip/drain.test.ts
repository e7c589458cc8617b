import t from 'tap';
import type { Message } from 'sip';
import { SDP, authenticatedInvite, fixture, phone } from '../helpers/calls';
import { ENGINE_KINDS, engineEnv } from '../helpers/drachtio-server';
import { ACTIVATION_DOMAIN, TestPhone } from '../helpers/phone';
import { RawPeer, registerText } from '../helpers/sip-client';
import { sipFixture } from '../helpers/sip';
import { Ua } from '../helpers/sip-ua';

/**
 * SIGTERM's drain (App.drain, which `dialtone serve` runs before it stops):
 * a call being set up finishes, anything new is told to go elsewhere with
 * 503 and Retry-After, and the drain ends once nothing is under way.
 */
const STANDIN_SKIP = 'the wire-protocol stand-in is no SIP stack: it has no proxy transactions to relay calls with';

async function finalAnswer(ua: Ua): Promise<Message> {
  for (;;) {
    const m = await ua.peer.next();
    if ((m.status ?? 0) >= 200) return m;
  }
}

for (const { kind, name, skip } of ENGINE_KINDS) {
  t.test(`drain on the ${name}`, { skip: kind === 'standin' ? STANDIN_SKIP : skip }, async (t) => {
    const f = await fixture(t, { ...await engineEnv(t, kind), DIALTONE_DRAIN_SECONDS: '7' });
    const a = await phone(t, f, '201', 'udp');
    await authenticatedInvite(t, f, a, '5551234');
    const invite = await f.pbx.nextRequest('INVITE');
    f.pbx.reply(invite, 180, 'Ringing', { toTag: 'pbx1' });

    let drained = false;
    const drain = f.ta.app.drain().then(() => {
      drained = true;
    });

    const late = new Ua(await RawPeer.udp(f.port), '202', f.domain);
    t.teardown(() => late.peer.close());
    const refused = await late.register(f.ext['202']!.username, f.ext['202']!.password);
    t.equal(refused.status, 503, 'a REGISTER arriving during the drain is refused');
    t.equal(refused.headers['retry-after'], '7', 'with Retry-After, so the phone tries another node');
    const [fromPbx] = (await f.pbx.send(f.pbx.request({ method: 'INVITE', uri: `sip:202@${f.domain}`, body: SDP }).text)).slice(-1);
    t.equal(fromPbx!.status, 503, 'and so is a new call from the PBX');
    t.notOk(drained, 'the drain waits for the call being set up');

    f.pbx.reply(invite, 200, 'OK', { toTag: 'pbx1', body: SDP });
    const ok = await finalAnswer(a);
    t.equal(ok.status, 200, "the PBX's answer still reaches the phone");
    await drain;
    t.ok(drained, 'and the drain ends once it has');
  });
}

for (const { kind, name, skip } of ENGINE_KINDS) {
  t.test(`drain on the ${name}: a call to the registration service goes on until the phone hangs up`, { skip }, async (t) => {
    const f = await sipFixture(t, { ...await engineEnv(t, kind), DIALTONE_ACTIVATION_DOMAIN: ACTIVATION_DOMAIN, DIALTONE_DRAIN_SECONDS: '30' });
    const caller = await TestPhone.boot(t, f, '0015654aa9d1');
    const late = await TestPhone.boot(t, f, '0015654aa9d2', { register: false });
    t.equal((await caller.dial('drain-ivr')).status, 200, 'the registration service answers');
    let drained = false;
    const drain = f.ta.app.drain().then(() => {
      drained = true;
    });
    const refused = await late.sip.request(registerText(late.sip, { domain: ACTIVATION_DOMAIN, user: late.user, cseq: 1 }));
    t.equal(refused.status, 503, 'a new REGISTER is refused');
    t.notOk(drained, 'the drain waits for the call in progress');
    const bye = await caller.sip.request(caller.inDialog('BYE'));
    t.equal(bye.status, 200, 'the phone hangs up inside its dialog during the drain');
    await drain;
    t.ok(drained, 'and the drain ends with the call');
  });
}
