import { once } from 'node:events';
import t from 'tap';
import type { Registrar } from '../../daemon/sip/registrar/registrar';
import { hasBinary, registerScenario, sipFixture, startSipp } from '../helpers/sip';
import { RawPeer, answer, registerText } from '../helpers/sip-client';

for (const transport of ['UDP', 'TCP'] as const) {
  t.test(`resync reaches a sipp UAS registered over ${transport}`, { skip: hasBinary('sipp') ? false : 'sipp is not installed' }, async (t) => {
    const f = await sipFixture(t);
    const registrar = (f.ta.app.components.find((c) => c.name === 'sip') as unknown as { sip: { registrar: Registrar } }).sip.registrar;
    const registered = once(registrar.events, 'registered');
    const event = 'check-sync;reboot=false';
    const sipp = await startSipp(t, registerScenario({
      user: f.creds.username, password: f.creds.password, domain: f.domain, aorUser: f.extension.number, expires: 600, transport, stayForNotify: true,
    }), `127.0.0.1:${transport === 'UDP' ? f.ports.udp : f.ports.tcp}`, ['-t', transport === 'UDP' ? 'u1' : 't1', '-aa']);
    await Promise.race([registered, sipp.done.then((r) => { throw new Error(`sipp ended before registering: ${r.code} ${r.errors}${r.stderr}${r.stdout.slice(-2000)}`); })]);
    const res = await f.ta.call('POST', `/api/v1/extensions/${f.extension.id}/resync`, { token: f.token, body: { reboot: false } });
    t.equal(res.status, 200);
    t.match(res.body, { event, results: [{ status: 200, source: { transport: transport.toLowerCase() } }] });
    sipp.stop();
  });
}

t.test('resync input is checked', async (t) => {
  const f = await sipFixture(t);
  const url = `/api/v1/extensions/${f.extension.id}/resync`;
  for (const body of [{ event: 'check-sync\r\nX-Evil: 1' }, { reboot: 'yes' }, { other: 1 }, { event: '' }, [1]]) {
    const r = await f.ta.call('POST', url, { token: f.token, body });
    t.equal(r.status, 400, JSON.stringify(body));
  }
  const none = await f.ta.call('POST', url, { token: f.token, body: { reboot: true } });
  t.match(none.body, { event: 'check-sync;reboot=true', results: [] }, 'nothing registered, nothing sent');
  const other = await f.ta.call('POST', '/api/v1/tenants', {
    token: f.ta.operatorToken,
    body: { name: 'other.test', sipDomain: 'other.test', admin: { firstName: 'O', lastName: 'A', email: 'a@other.test', username: 'admin.other' } },
  });
  t.equal(other.status, 201);
  const { createToken } = await import('../../daemon/admin/service/tokens');
  const { token } = await createToken(f.ta.app.runtime.db.knex, { tenantId: other.body.tenant.id, userId: other.body.admin.id, label: 'other' });
  for (const path of ['resync', 'registrations', 'sip-credentials']) {
    const r = await f.ta.call(path === 'resync' ? 'POST' : 'GET', `/api/v1/extensions/${f.extension.id}/${path}`, { token, ...(path === 'resync' ? { body: {} } : {}) });
    t.equal(r.status, 404, `another tenant cannot reach ${path}`);
  }
  t.equal((await f.ta.call('GET', `/api/v1/extensions/${f.extension.id}/registrations`)).status, 401);
});

t.test('a contact whose TCP connection is gone is reported unreachable', async (t) => {
  const f = await sipFixture(t);
  const peer = await RawPeer.tcp(f.ports.tcp!);
  const base = { domain: f.domain, user: f.extension.number, callId: 'gone' };
  const challenge = await peer.request(registerText(peer, base));
  const ok = await peer.request(registerText(peer, { ...base, cseq: 2, authorization: answer(challenge, { username: f.creds.username, password: f.creds.password, uri: `sip:${f.domain}` }) }));
  t.equal(ok.status, 200);
  peer.close();
  const res = await f.ta.call('POST', `/api/v1/extensions/${f.extension.id}/resync`, { token: f.token, body: {} });
  t.match(res.body, { event: 'check-sync;reboot=false', results: [{ status: 503, source: { transport: 'tcp' } }] });
});
