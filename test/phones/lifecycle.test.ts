import t from 'tap';
import sip, { type Message } from 'sip';
import { RawPeer, answer, registerText } from '../helpers/sip-client';
import { sipFixture } from '../helpers/sip';
import { makeTenant } from '../helpers/app';

async function nextRequest(peer: RawPeer, method: string): Promise<Message> {
  for (;;) {
    const m = await peer.next();
    if (m.method === method) return m;
  }
}

t.test('a phone registers, shows in its timeline, and is resynced with its vendor event', async (t) => {
  const f = await sipFixture(t, { DIALTONE_ACTIVATION_DOMAIN: 'activate.test' });
  const device = await f.ta.call('POST', '/api/v1/devices', { token: f.token, body: { mac: '80:5E:C0:12:34:56', model: 'T46S', extensionId: f.extension.id } });
  t.equal(device.status, 201, device.raw);
  const peer = await RawPeer.udp(f.ports.udp!);
  t.teardown(() => peer.close());

  const challenge = await peer.request(registerText(peer, { domain: f.domain, user: f.creds.username, cseq: 1 }));
  t.equal(challenge.status, 401);
  const ok = await peer.request(registerText(peer, {
    domain: f.domain, user: f.creds.username, cseq: 2,
    authorization: answer(challenge, { username: f.creds.username, password: f.creds.password, uri: `sip:${f.domain}` }),
  }));
  t.equal(ok.status, 200);

  const events = async () => (await f.ta.call('GET', `/api/v1/devices/${device.body.id}/events`, { token: f.token })).body.items as { kind: string; result: string; detail: string; appliedAt?: string | null }[];
  let timeline = await events();
  for (let i = 0; i < 100 && !timeline.some((e) => e.kind === 'registration'); i++) {
    await new Promise((r) => setTimeout(r, 20));
    timeline = await events();
  }
  t.match(timeline.find((e) => e.kind === 'registration'), { result: 'registered' }, 'the registration is in the timeline');

  const resync = f.ta.call('POST', `/api/v1/devices/${device.body.id}/resync`, { token: f.token, body: {} });
  const notify = await nextRequest(peer, 'NOTIFY');
  t.equal(notify.headers.event, 'check-sync;reboot=false', "Yealink's configuration event");
  peer.send(sip.stringify(sip.makeResponse(notify, 200, 'OK')));
  const res = await resync;
  t.equal(res.status, 200, res.raw);
  t.match(res.body, { deviceId: device.body.id, event: 'check-sync;reboot=false', results: [{ status: 200 }] });
  t.match((await events()).find((e) => e.kind === 'resync'), { result: 'sent', appliedAt: null });
  const fetched = await f.ta.call('GET', '/prov/805ec0123456.cfg', { headers: { 'user-agent': 'Yealink SIP-T46S 66.85.0.5 80:5e:c0:12:34:56' } });
  t.equal(fetched.status, 200, 'the phone fetches its configuration');
  t.match((await events()).find((e) => e.kind === 'resync'), { result: 'sent', appliedAt: String }, 'and the resync shows as applied');

  const reboot = f.ta.call('POST', `/api/v1/devices/${device.body.id}/resync`, { token: f.token, body: { reboot: true } });
  const rebootNotify = await nextRequest(peer, 'NOTIFY');
  t.equal(rebootNotify.headers.event, 'check-sync;reboot=true');
  peer.send(sip.stringify(sip.makeResponse(rebootNotify, 200, 'OK')));
  t.equal((await reboot).status, 200);

  const other = await makeTenant(f.ta, 'other.test');
  t.equal((await f.ta.call('POST', `/api/v1/devices/${device.body.id}/resync`, { token: other.token, body: {} })).status, 404, "another tenant's phone is not found");
  t.equal((await f.ta.call('POST', '/api/v1/devices/nope/resync', { token: f.token, body: {} })).status, 404);

  const patched = await f.ta.call('PATCH', `/api/v1/extensions/${f.extension.id}`, { token: f.token, body: { callerId: { name: 'Front Desk' } } });
  t.equal(patched.status, 200);
  const auto = await nextRequest(peer, 'NOTIFY');
  t.equal(auto.headers.event, 'check-sync;reboot=false', 'a change to its extension resyncs the phone');
  peer.send(sip.stringify(sip.makeResponse(auto, 200, 'OK')));
});
