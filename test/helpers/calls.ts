import type { Test } from 'tap';
import { makeTenant, startTestApp, type TestApp } from './app';
import { RawPeer, answer } from './sip-client';
import { Ua } from './sip-ua';

/** A daemon with a PBX stand-in at DIALTONE_PBX_URI and four extensions, for call-flow tests on real sockets. */
export const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';

export interface CallFixture {
  ta: TestApp;
  domain: string;
  token: string;
  port: number;
  pbx: Ua;
  ext: Record<string, { id: string; username: string; password: string }>;
}

export async function fixture(t: Test, env: Record<string, string> = {}): Promise<CallFixture> {
  let port = 0;
  const pbxPeer = await RawPeer.udp(() => port);
  t.teardown(() => pbxPeer.close());
  const ta = await startTestApp(t, 'sqlite', { env: { DIALTONE_PBX_URI: `sip:127.0.0.1:${pbxPeer.localPort};transport=udp`, DIALTONE_SIP_TRANSPORTS: 'udp,tcp', ...env } });
  await ta.app.listen();
  const sipc = ta.app.components.find((c) => c.name === 'sip') as unknown as { sip: { engine: { addresses(): { udp?: number } } } };
  port = sipc.sip.engine.addresses().udp!;
  const domain = `calls${Math.random().toString(36).slice(2, 8)}.test`;
  const { admin, token } = await makeTenant(ta, domain);
  const ext: CallFixture['ext'] = {};
  for (const [number, settings] of [['201', {}], ['202', {}], ['203', { forwarding: [{ condition: 'notRegistered', destination: '5550100' }] }], ['204', {}]] as const) {
    const e = await ta.call('POST', '/api/v1/extensions', { token, body: { number, userId: admin.id, ...settings } });
    if (e.status !== 201) throw new Error(`extension ${number}: ${e.status} ${e.raw}`);
    const c = await ta.call('GET', `/api/v1/extensions/${e.body.id}/sip-credentials`, { token });
    ext[number] = { id: e.body.id, username: c.body.username, password: c.body.password };
  }
  return { ta, domain, token, port, pbx: new Ua(pbxPeer, 'pbx', domain), ext };
}

export async function phone(t: Test, f: CallFixture, number: string, transport: 'udp' | 'tcp'): Promise<Ua> {
  const peer = transport === 'udp' ? await RawPeer.udp(f.port) : await RawPeer.tcp(f.port);
  t.teardown(() => peer.close());
  const ua = new Ua(peer, number, f.domain);
  const ok = await ua.register(f.ext[number]!.username, f.ext[number]!.password);
  t.equal(ok.status, 200, `${number} registers over ${transport}`);
  return ua;
}

/** A phone's INVITE: challenged with 407, then sent again with Proxy-Authorization. */
export async function authenticatedInvite(t: Test, f: CallFixture, ua: Ua, dialed: string): Promise<{ callId: string; sent: string }> {
  const uri = `sip:${dialed}@${f.domain}`;
  const first = ua.request({ method: 'INVITE', uri, body: SDP });
  // drachtio-server answers 100 Trying first.
  const challenge = (await ua.send(first.text)).at(-1);
  t.equal(challenge!.status, 407, 'the phone is challenged as a proxy challenges');
  ua.peer.send(ua.ackFailure(first.text, challenge!));
  const creds = f.ext[ua.user]!;
  const auth = answer(challenge!, { username: creds.username, password: creds.password, uri, method: 'INVITE' });
  const second = ua.request({ method: 'INVITE', uri, callId: first.callId, fromTag: first.fromTag, cseq: 2, body: SDP, headers: [`Proxy-Authorization: ${auth}`] });
  ua.peer.send(second.text);
  return { callId: first.callId, sent: second.text };
}

