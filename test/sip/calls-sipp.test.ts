import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { fixture } from '../helpers/calls';
import { ENGINE_KINDS, engineEnv } from '../helpers/drachtio-server';
import { freePort, hasBinary, runSipp, startSipp } from '../helpers/sip';
import { RawPeer } from '../helpers/sip-client';
import { Ua } from '../helpers/sip-ua';

const noSipp = hasBinary('sipp') ? false : 'sipp is not installed';
const STANDIN_SKIP = 'the wire-protocol stand-in is no SIP stack: it relays no calls';

/** The calls walk-through's sipp scenarios (scripts/calls/), here as the test's phones and PBX. */
const scenario = (name: string) => fs.readFileSync(path.join(__dirname, '..', '..', 'scripts', 'calls', `${name}.xml`), 'utf8');

/** sipp's injection file for a phone: its number, then its credentials as an [authentication] line. */
function credentials(t: Test, number: string, user: string, password: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-sipp-inf-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'phone.csv');
  fs.writeFileSync(file, `SEQUENTIAL\n${number};[authentication username=${user} password=${password}]\n`);
  return file;
}

for (const { kind, name, skip } of ENGINE_KINDS) {
  t.test(`sipp calls on the ${name}`, { skip: noSipp || (kind === 'standin' ? STANDIN_SKIP : skip) }, async (t) => {
    for (const transport of ['UDP', 'TCP'] as const) {
      t.test(`a sipp phone over ${transport} registers and calls a sipp PBX through dialtone, and hangs up`, async (t) => {
        const pbxPort = await freePort();
        const f = await fixture(t, { ...await engineEnv(t, kind), DIALTONE_PBX_URI: `sip:127.0.0.1:${pbxPort};transport=udp` });
        const pbx = await startSipp(t, scenario('answer'), `127.0.0.1:${f.port}`, ['-t', 'u1'], pbxPort);
        const creds = f.ext['201']!;
        const phone = await runSipp(t, scenario('phone-calls'), `127.0.0.1:${f.port}`,
          ['-t', transport === 'UDP' ? 'u1' : 't1', '-inf', credentials(t, '201', creds.username, creds.password), '-key', 'tp', transport.toLowerCase(), '-key', 'domain', f.domain, '-key', 'dialed', '5551234']);
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
      const pbx = await startSipp(t, scenario('pbx-calls'), `127.0.0.1:${f.port}`, ['-t', 'u1', '-key', 'number', '202', '-key', 'domain', f.domain], pbxPort);
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
