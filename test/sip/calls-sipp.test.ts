import t from 'tap';
import { fixture } from '../helpers/calls';
import { ENGINE_KINDS, engineEnv } from '../helpers/drachtio-server';
import { pbxAnswersScenario, pbxCallsScenario, phoneCallsScenario } from '../helpers/calls-sipp';
import { freePort, hasBinary, runSipp, startSipp } from '../helpers/sip';
import { RawPeer } from '../helpers/sip-client';
import { Ua } from '../helpers/sip-ua';

const noSipp = hasBinary('sipp') ? false : 'sipp is not installed';
const STANDIN_SKIP = 'the wire-protocol stand-in is no SIP stack: it relays no calls';

for (const { kind, name, skip } of ENGINE_KINDS) {
  t.test(`sipp calls on the ${name}`, { skip: noSipp || (kind === 'standin' ? STANDIN_SKIP : skip) }, async (t) => {
    for (const transport of ['UDP', 'TCP'] as const) {
      t.test(`a sipp phone over ${transport} registers and calls a sipp PBX through dialtone, and hangs up`, async (t) => {
        const pbxPort = await freePort();
        const f = await fixture(t, { ...await engineEnv(t, kind), DIALTONE_PBX_URI: `sip:127.0.0.1:${pbxPort};transport=udp` });
        const pbx = await startSipp(t, pbxAnswersScenario(), `127.0.0.1:${f.port}`, ['-t', 'u1'], pbxPort);
        const creds = f.ext['201']!;
        const phone = await runSipp(t, phoneCallsScenario({ user: creds.username, password: creds.password, domain: f.domain, number: '201', dialed: '5551234', transport }),
          `127.0.0.1:${f.port}`, ['-t', transport === 'UDP' ? 'u1' : 't1']);
        t.equal(phone.code, 0, "the phone's call went through", { errors: phone.errors, stderr: phone.stderr });
        const answered = await pbx.done;
        t.equal(answered.code, 0, 'the PBX answered and was hung up on', { errors: answered.errors, stderr: answered.stderr });
      });
    }

    t.test('a sipp PBX calls a registered phone through dialtone and hangs up', async (t) => {
      const pbxPort = await freePort();
      const f = await fixture(t, { ...await engineEnv(t, kind), DIALTONE_PBX_URI: `sip:127.0.0.1:${pbxPort};transport=udp` });
      const peer = await RawPeer.udp(f.port);
      t.teardown(() => peer.close());
      const b = new Ua(peer, '202', f.domain);
      t.equal((await b.register(f.ext['202']!.username, f.ext['202']!.password)).status, 200);
      const pbx = await startSipp(t, pbxCallsScenario({ domain: f.domain, number: '202' }), `127.0.0.1:${f.port}`, ['-t', 'u1'], pbxPort);
      const invite = await b.nextRequest('INVITE');
      b.reply(invite, 180, 'Ringing', { toTag: 'b' });
      b.reply(invite, 200, 'OK', { toTag: 'b', body: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40002 RTP/AVP 0\r\n' });
      await b.nextRequest('ACK');
      b.reply(await b.nextRequest('BYE'), 200, 'OK');
      const run = await pbx.done;
      t.equal(run.code, 0, "the PBX's call was answered and ended", { errors: run.errors, stderr: run.stderr });
    });
  });
}
