import t from 'tap';
import { startTestApp } from '../helpers/app';
import { deviceByMac } from '../../daemon/provisioning';
import type { Mac } from '../../daemon/provisioning/mac';
import { curl, digestAnswer, hasBinary, provisioning } from './clients';
import { PER_DEVICE_FILE, fleet } from './fleet';

const skip = hasBinary('curl') ? false : 'curl is not installed (.ci/apt-packages)';

t.test('every vendor file over HTTP with curl, then only with the device credentials', { skip }, async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  await ta.app.listen();
  const base = `http://127.0.0.1:${ta.app.httpAddress().port}/prov`;
  const f = await fleet(ta);
  for (const d of f.devices) {
    const url = `${base}/${PER_DEVICE_FILE[d.vendor]!(d.mac)}`;
    const first = await curl(['-A', d.ua, url]);
    t.equal(first.status, 200, `${d.vendor}: first fetch`);
    t.ok(first.body.includes(d.creds.password) && first.body.includes(d.creds.username), `${d.vendor}: carries the extension's credentials`);

    const again = await curl(['-A', d.ua, url]);
    t.equal(again.status, 401, `${d.vendor}: once provisioned, a fetch without credentials is refused`);
    t.match(again.headers, /www-authenticate: Digest realm="dialtone-provisioning"/i);
    t.notOk(again.body.includes(d.creds.password));

    const device = (await deviceByMac(ta.app.runtime.db.knex, d.mac as Mac))!;
    const prov = ta.app.runtime.secrets.open(device.provPasswordSealed);
    t.ok(first.body.includes(prov), `${d.vendor}: the first configuration carries the device's provisioning password`);
    const digest = await curl(['-A', d.ua, '--digest', '-u', `${device.provUsername}:${prov}`, url]);
    t.equal(digest.status, 200, `${d.vendor}: digest with the device's credentials`);
    t.equal(digest.body, first.body);
    const wrong = await curl(['-A', d.ua, '--digest', '-u', `${device.provUsername}:wrong`, url]);
    t.equal(wrong.status, 401, `${d.vendor}: wrong password`);
    const basic = await curl(['-A', d.ua, '-u', `${device.provUsername}:${prov}`, url]);
    t.equal(basic.status, 401, `${d.vendor}: basic authentication is refused without TLS`);

    const etag = /etag: ("[^"]+")/i.exec(digest.headers)![1]!;
    const lastModified = /last-modified: ([^\r\n]+)/i.exec(digest.headers)![1]!;
    const cached = await curl(['-A', d.ua, '--digest', '-u', `${device.provUsername}:${prov}`, '-H', `If-None-Match: ${etag}`, url]);
    t.equal(cached.status, 304, `${d.vendor}: If-None-Match`);
    const since = await curl(['-A', d.ua, '--digest', '-u', `${device.provUsername}:${prov}`, '-H', `If-Modified-Since: ${lastModified}`, url]);
    t.equal(since.status, 304, `${d.vendor}: If-Modified-Since`);
  }
  const someone = f.devices[0]!;
  const events = await ta.call('GET', `/api/v1/devices/${someone.id}/events`, { token: f.token });
  t.match(events.body.items.find((e: { result: string }) => e.result === 'unauthorized'), { kind: 'fetch', transport: 'http', userAgent: someone.ua, detail: 'no credentials' });
  t.match(events.body.items.find((e: { result: string }) => e.result === 'ok'), { kind: 'fetch', transport: 'http', source: '127.0.0.1' });
});

t.test('a change to the extension reaches the next fetch', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  const f = await fleet(ta);
  const d = f.devices.find((x) => x.vendor === 'yealink')!;
  const url = `/prov/${d.mac}.cfg`;
  const first = await ta.call('GET', url, { headers: { 'user-agent': d.ua } });
  t.match(first.raw, d.creds.password);
  const device = (await deviceByMac(ta.app.runtime.db.knex, d.mac as Mac))!;
  t.equal((await ta.call('POST', `/api/v1/extensions/${d.extensionId}/rotate-credentials`, { token: f.token })).status, 204);
  const { sipCredentials } = await import('../../daemon/admin/service/extensions');
  const rotated = await sipCredentials({ knex: ta.app.runtime.db.knex, secrets: ta.app.runtime.secrets }, { tenantId: null, actor: 't' }, d.extensionId);
  // inject() is plain HTTP, so the credentials are proved with digest, as a phone would.
  const challenge = await ta.call('GET', url, { headers: { 'user-agent': d.ua } });
  t.equal(challenge.status, 401);
  const header = digestAnswer(challenge.headers['www-authenticate'], device.provUsername, ta.app.runtime.secrets.open(device.provPasswordSealed), url);
  const next = await ta.call('GET', url, { headers: { 'user-agent': d.ua, authorization: header } });
  t.equal(next.status, 200);
  t.match(next.raw, rotated.password, 'the rotated password is served: the cached file was dropped');
  t.notMatch(next.raw, d.creds.password);
  t.notSame(next.headers.etag, first.headers.etag);
});

t.test('hostile HTTP requests', { skip }, async (t) => {
  const ta = await startTestApp(t, 'sqlite', { env: { DIALTONE_PROV_RATE_LIMIT: '1000' } });
  await ta.app.listen();
  const base = `http://127.0.0.1:${ta.app.httpAddress().port}/prov`;
  const f = await fleet(ta);
  const secret = f.devices[1]!.creds.password;
  for (const path of ['../../../etc/passwd', '..%2f..%2fetc%2fpasswd', 'Fanvil/../../etc/passwd', '%2fetc%2fpasswd', '/etc/passwd', 'a\\..\\b', '%00.cfg', 'x'.repeat(300) + '.cfg', '%E0%A4%A.cfg']) {
    const r = await curl([`${base}/${path}`]);
    t.ok([400, 403, 404].includes(r.status), `${path.slice(0, 40)}: refused (${r.status})`);
    t.notMatch(r.body, /root:|account\.1\.password/);
  }
  t.equal((await curl(['-X', 'PUT', `${base}/0004f2a1b2c3-app.log`])).status, 405, 'uploads are refused');
  t.ok([405, 415].includes((await curl(['-X', 'PUT', '--data', 'log', `${base}/0004f2a1b2c3-app.log`])).status), 'uploads with a body too');
  const spoofed = await curl(['-A', f.devices[2]!.ua, `${base}/${f.devices[1]!.mac}.cfg`]);
  t.equal(spoofed.status, 403, "a User-Agent naming another MAC cannot fetch this MAC's file");
  t.notMatch(spoofed.body, secret);
  const garbage = await curl(['-H', 'Authorization: Digest username="x", nonce="zz.zz", uri="/", response="0", realm="dialtone-provisioning"', `${base}/${f.devices[1]!.mac}.cfg`]);
  t.equal(garbage.status, 200, 'a device never provisioned ignores stray credentials');
  const forged = await curl(['-H', 'Authorization: Digest username="prov0015654aa937", nonce="ffffffffff.forged", uri="/", response="0", realm="dialtone-provisioning"', `${base}/${f.devices[1]!.mac}.cfg`]);
  t.equal(forged.status, 401, 'a forged nonce is refused');
});

t.test('an unknown MAC gets activation, and floods are cut off', { skip }, async (t) => {
  const ta = await startTestApp(t, 'sqlite', { env: { DIALTONE_PROV_RATE_LIMIT: '5' } });
  await ta.app.listen();
  const base = `http://127.0.0.1:${ta.app.httpAddress().port}/prov`;
  const f = await fleet(ta);
  const act = await curl(['-A', 'Yealink SIP-T46S 66.85.0.5 00:15:65:00:00:99', `${base}/001565000099.cfg`]);
  t.equal(act.status, 200);
  t.match(act.body, 'account.1.label = Activate');
  t.match(act.body, `account.1.sip_server.1.address = ${ta.app.runtime.config.activationDomain}`);
  for (const d of f.devices) t.notOk(act.body.includes(d.creds.password) || act.body.includes(d.creds.username), `no secret of extension ${d.vendor}`);
  const statuses = [];
  for (let i = 0; i < 15; i++) statuses.push((await curl([`${base}/Grandstream/cfg000b82${String(i).padStart(6, '0')}.xml`])).status);
  t.ok(statuses.filter((s) => s === 429).length >= 8, `the source is refused once over the limit (${statuses.join(',')})`);
  const scans = await ta.call('GET', '/api/v1/devices?status=pending', { token: ta.operatorToken });
  t.ok(scans.body.total <= 6, `pending devices stay bounded (${scans.body.total})`);
  t.equal((await curl([`${base}/Grandstream/cfg000b82ffffff.xml`])).status, 429, 'new MACs stay refused for the rest of the window');
  t.equal((await curl([`${base}/y000000000066.cfg`])).status, 200, 'while common files are still served to the address (an office behind one NAT)');
});

t.test('while changes made by other processes go unheard, no file is kept, so none is served stale', async (t) => {
  const ta = await startTestApp(t, 'sqlite');
  const f = await fleet(ta);
  const d = f.devices.find((x) => x.vendor === 'yealink')!;
  const url = `/prov/${d.mac}.cfg`;
  t.equal((await ta.call('GET', url, { headers: { 'user-agent': d.ua } })).status, 200);
  const device = (await deviceByMac(ta.app.runtime.db.knex, d.mac as Mac))!;
  const fetchFile = async () => {
    const challenge = await ta.call('GET', url, { headers: { 'user-agent': d.ua } });
    const header = digestAnswer(challenge.headers['www-authenticate'], device.provUsername, ta.app.runtime.secrets.open(device.provPasswordSealed), url);
    return (await ta.call('GET', url, { headers: { 'user-agent': d.ua, authorization: header } })).raw;
  };
  // Written straight to the database, as another node would, with no change announced here.
  const rename = (firstName: string) => ta.app.runtime.db.knex('users').where('id', f.user.id).update({ first_name: firstName });
  const cache = provisioning(ta).cache;
  t.match(await fetchFile(), 'Grace Hopper');
  t.ok(cache.size > 0, 'heard: the file is kept');

  ta.app.runtime.changes.deaf();
  t.equal(cache.size, 0, 'deaf: every kept file is dropped');
  await rename('Amazing');
  t.match(await fetchFile(), 'Amazing Hopper', 'and the next fetch is rendered from the database');
  t.equal(cache.size, 0, 'and not kept');
  await rename('Admiral');
  t.match(await fetchFile(), 'Admiral Hopper');

  ta.app.runtime.changes.hearing();
  t.match(await fetchFile(), 'Admiral Hopper');
  t.ok(cache.size > 0, 'heard again: files are kept again');
});
