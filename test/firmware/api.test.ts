import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { startTestApp, type TestApp } from '../helpers/app';
import { databaseKinds } from '../helpers/databases';
import { provisionedExtension } from '../provisioning/fixtures';
import { curl, hasBinary } from '../provisioning/clients';

const OCTETS = { 'content-type': 'application/octet-stream' };

function upload(ta: TestApp, query: string, payload: Buffer | string, token = ta.operatorToken, headers: Record<string, string> = OCTETS) {
  return ta.call('POST', `/api/v1/firmware?${query}`, { token, headers, payload });
}

const storedFiles = (ta: TestApp) => {
  const dir = ta.app.runtime.config.firmwareImagesDir;
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
};

for (const kind of databaseKinds()) t.test(`uploads: stored under their hash, with the version from the name or given (${kind})`, async (t) => {
  const ta = await startTestApp(t, kind, { env: { DIALTONE_FIRMWARE_MAX_MB: '1' } });
  const rom = crypto.randomBytes(300_000);
  const created = await upload(ta, 'model=t46s&fileName=T46S(T48S,T46S)-66.86.0.15.rom', rom);
  t.equal(created.status, 201, created.raw);
  t.match(created.body, { vendor: 'yealink', model: 'T46S', version: '66.86.0.15', fileName: 'T46S_T48S_T46S_-66.86.0.15.rom', size: rom.length, sha256: crypto.createHash('sha256').update(rom).digest('hex') });
  t.same(storedFiles(ta), [created.body.sha256], 'one file, named by its content; no temporary file left');
  t.same(fs.readFileSync(path.join(ta.app.runtime.config.firmwareImagesDir, created.body.sha256)), rom);
  t.notOk(fs.existsSync(path.join(ta.app.runtime.config.firmwareDir, created.body.sha256)), 'not in the folder served to anyone');

  const gs = await upload(ta, 'model=GXP2170&fileName=gxp2170fw.bin&version=1.0.11.3', 'GS');
  t.equal(gs.status, 201);
  t.equal(gs.body.version, '1.0.11.3');
  const list = await ta.call('GET', '/api/v1/firmware', { token: ta.operatorToken });
  t.same(list.body.items.map((i: { model: string }) => i.model), ['GXP2170', 'T46S']);
  t.equal((await ta.call('GET', `/api/v1/firmware/${created.body.id}`, { token: ta.operatorToken })).body.version, '66.86.0.15');
});

t.test('hostile uploads are refused, naming the field, and leave nothing behind', async (t) => {
  const ta = await startTestApp(t, 'sqlite', { env: { DIALTONE_FIRMWARE_MAX_MB: '1' } });
  const { token: tenantToken } = await provisionedExtension(ta);
  const cases: [string, string, Buffer | string, number, string, RegExp][] = [
    ['path traversal', 'model=T46S&fileName=..%2F..%2Fetc%2Fpasswd-1.2.3.rom', 'x', 400, 'fileName', /bare file name/],
    ['a backslash path', 'model=T46S&fileName=..%5Cboot-1.2.3.rom', 'x', 400, 'fileName', /bare file name/],
    ['a control character', 'model=T46S&fileName=a%0Ab-1.2.3.rom', 'x', 400, 'fileName', /control/],
    ['an unknown model', 'model=T999&fileName=T46S-66.86.0.15.rom', 'x', 400, 'model', /not a model dialtone provisions/],
    ['an image named for another model', 'model=T48S&fileName=T46S-66.86.0.15.rom', 'x', 400, 'model', /names T46S, not T48S/],
    ['another vendor\'s image', 'model=D785&fileName=T46S-66.86.0.15.rom', 'x', 400, 'model', /names T46S, not D785/],
    ['no version anywhere', 'model=GXP2170&fileName=gxp2170fw.bin', 'x', 400, 'version', /no version/],
    ['a version that could climb', 'model=GXP2170&fileName=gxp2170fw.bin&version=..%2F1', 'x', 400, 'version', /letters, digits/],
    ['an empty file', 'model=T46S&fileName=T46S-66.86.0.15.rom', Buffer.alloc(0), 400, 'file', /empty/],
    ['a file over the limit', 'model=T46S&fileName=T46S-66.86.0.16.rom', Buffer.alloc(1024 * 1024 + 1), 413, 'file', /at most 1048576 bytes/],
  ];
  for (const [what, query, body, status, field, reason] of cases) {
    const res = await upload(ta, query, body);
    t.equal(res.status, status, `${what}: ${res.raw}`);
    t.match(res.body.details, [{ field, reason }], what);
  }
  t.equal((await upload(ta, 'fileName=T46S-66.86.0.15.rom', 'x')).status, 400, 'no model');
  t.match((await upload(ta, 'model=T46S', 'x')).body.details, [{ field: 'fileName', reason: /required/ }]);
  t.equal((await upload(ta, 'model=T46S&fileName=T46S-66.86.0.15.rom', '{"a":1}', ta.operatorToken, { 'content-type': 'application/json' })).status, 415, 'JSON is not an image');
  t.equal((await upload(ta, 'model=T46S&fileName=T46S-66.86.0.15.rom', 'x', tenantToken)).status, 403, "a tenant's token cannot upload");
  t.equal((await upload(ta, 'model=T46S&fileName=T46S-66.86.0.15.rom', 'x', 'dt_nope')).status, 401);
  t.same(storedFiles(ta), [], 'nothing was stored, no temporary file left');
  t.equal((await ta.call('GET', '/api/v1/firmware', { token: ta.operatorToken })).body.items.length, 0);

  t.equal((await upload(ta, 'model=T46S&fileName=T46S-66.86.0.15.rom', 'ROM')).status, 201);
  const again = await upload(ta, 'model=T46S&fileName=T46S-66.86.0.15.rom', 'ROM');
  t.equal(again.status, 409, 'the same model and version twice');
  t.match(again.body.details, [{ field: 'version', reason: /T46S already has an image of version 66.86.0.15/ }]);
  t.equal((await upload(ta, 'model=T46S&fileName=other-66.86.0.15.rom', 'OTHER')).status, 409, 'under another name too');
  t.equal(storedFiles(ta).length, 1);
});

t.test('an upload streamed past the limit is cut off with 413', { skip: hasBinary('curl') ? false : 'curl is not installed' }, async (t) => {
  const ta = await startTestApp(t, 'sqlite', { env: { DIALTONE_FIRMWARE_MAX_MB: '1' } });
  await ta.app.listen();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-fw-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const big = path.join(dir, 'big.rom');
  fs.writeFileSync(big, Buffer.alloc(3 * 1024 * 1024, 1));
  // Chunked: no Content-Length to refuse it by, so the limit must hold while the bytes arrive.
  const res = await curl(['-H', `Authorization: Bearer ${ta.operatorToken}`, '-H', 'content-type: application/octet-stream', '-H', 'Transfer-Encoding: chunked', '--data-binary', `@${big}`,
    `http://127.0.0.1:${ta.app.httpAddress().port}/api/v1/firmware?model=T46S&fileName=T46S-66.86.0.15.rom`]);
  t.equal(res.status, 413);
  t.match(res.body, /at most 1048576 bytes/);
  t.same(storedFiles(ta), [], 'the partial file is removed');
  t.equal((await ta.call('GET', '/api/v1/firmware', { token: ta.operatorToken })).body.items.length, 0);
});

for (const kind of databaseKinds()) t.test(`rollouts: hostile bodies, widening only, and the phones each stage reaches (${kind})`, async (t) => {
  const ta = await startTestApp(t, kind);
  const p = await provisionedExtension(ta);
  const other = await provisionedExtension(ta, 'other.pbx.example.com');
  const img = (await upload(ta, 'model=T46S&fileName=T46S-66.86.0.15.rom', 'ROM')).body;
  const macs = Array.from({ length: 40 }, (_, i) => `00156510${i.toString(16).padStart(4, '0')}`);
  const ids: string[] = [];
  for (const mac of macs) ids.push((await ta.call('POST', '/api/v1/devices', { token: p.token, body: { mac, model: 'T46S' } })).body.id);
  const foreign = (await ta.call('POST', '/api/v1/devices', { token: other.token, body: { mac: '001565990001', model: 'T46S' } })).body.id;
  const d48 = (await ta.call('POST', '/api/v1/devices', { token: p.token, body: { mac: '001565990002', model: 'T48S' } })).body.id;
  const op = { token: ta.operatorToken };
  const post = (body: unknown) => ta.call('POST', '/api/v1/firmware/rollouts', { ...op, body });

  const bad: [unknown, string, RegExp][] = [
    [{ imageId: 'nope', tenantId: p.tenant.id, percent: 10 }, 'imageId', /uploaded firmware image/],
    [{ imageId: img.id, tenantId: 'nope', percent: 10 }, 'tenantId', /tenant/],
    [{ imageId: img.id, tenantId: p.tenant.id, siteId: other.site.id, percent: 10 }, 'siteId', /site of the tenant/],
    [{ imageId: img.id, tenantId: p.tenant.id, percent: 0 }, 'percent', /1 to 100/],
    [{ imageId: img.id, tenantId: p.tenant.id, percent: 10.5 }, 'percent', /whole number/],
    [{ imageId: img.id, tenantId: p.tenant.id, percent: '10' }, 'percent', /whole number/],
    [{ imageId: img.id, tenantId: p.tenant.id }, 'percent', /exactly one of percent or deviceIds/],
    [{ imageId: img.id, tenantId: p.tenant.id, percent: 10, deviceIds: [ids[0]] }, 'percent', /exactly one/],
    [{ imageId: img.id, tenantId: p.tenant.id, deviceIds: [] }, 'deviceIds', /1 to 1000/],
    [{ imageId: img.id, tenantId: p.tenant.id, deviceIds: [foreign] }, 'deviceIds', /not T46S devices of this tenant/],
    [{ imageId: img.id, tenantId: p.tenant.id, deviceIds: [d48] }, 'deviceIds', /not T46S devices/],
    [{ imageId: img.id, tenantId: p.tenant.id, percent: 10, rollback: true }, 'rollback', /not a known field/],
  ];
  for (const [body, field, reason] of bad) {
    const res = await post(body);
    t.equal(res.status, 400, JSON.stringify(body));
    t.match(res.body.details, [{ field, reason }], field);
  }
  t.equal((await ta.call('POST', '/api/v1/firmware/rollouts', { token: p.token, body: { imageId: img.id, tenantId: p.tenant.id, percent: 10 } })).status, 403, 'operators only');
  t.equal((await ta.call('GET', '/api/v1/firmware/rollouts/nope', op)).status, 404);

  const ten = await post({ imageId: img.id, tenantId: p.tenant.id, percent: 10 });
  t.equal(ten.status, 201, ten.raw);
  t.match(ten.body, { model: 'T46S', version: '66.86.0.15', stage: { percent: 10 }, status: 'active' });
  const targetedAt = async () => (await ta.call('GET', `/api/v1/firmware/rollouts/${ten.body.id}`, op)).body.progress.devices.map((d: { deviceId: string }) => d.deviceId).sort();
  const firstStage = await targetedAt();
  t.ok(firstStage.length < 40, `a 10% stage reaches some of the 40 phones (${firstStage.length})`);
  t.same(await targetedAt(), firstStage, 'the same ones when asked again');

  const narrower = await ta.call('PATCH', `/api/v1/firmware/rollouts/${ten.body.id}`, { ...op, body: { percent: 5 } });
  t.equal(narrower.status, 400);
  t.match(narrower.body.details, [{ field: 'percent', reason: /only widens/ }]);
  const half = await ta.call('PATCH', `/api/v1/firmware/rollouts/${ten.body.id}`, { ...op, body: { percent: 50 } });
  t.equal(half.status, 200, half.raw);
  const secondStage = await targetedAt();
  t.ok(secondStage.length > firstStage.length, `50% reaches more (${secondStage.length})`);
  t.ok(firstStage.every((id: string) => secondStage.includes(id)), 'and keeps every phone of the 10%');

  const listed = await post({ imageId: img.id, tenantId: p.tenant.id, deviceIds: [ids[0], ids[1]] });
  t.equal(listed.status, 201);
  t.same((await ta.call('GET', `/api/v1/firmware/rollouts/${listed.body.id}`, op)).body.progress.devices.map((d: { deviceId: string }) => d.deviceId).sort(), [ids[0], ids[1]].sort());
  t.notOk((await targetedAt()).includes(ids[0]), 'a phone named in a list leaves the percentage rollout');

  const preview = await ta.call('GET', `/api/v1/devices/${ids[0]}/config`, { token: p.token });
  t.match(JSON.stringify(preview.body), `firmware/${macs[0]}/66.86.0.15/T46S-66.86.0.15.rom`, "the listed phone's configuration names its image");

  const cancelled = await ta.call('DELETE', `/api/v1/firmware/rollouts/${listed.body.id}`, op);
  t.equal(cancelled.body.status, 'cancelled');
  t.equal((await ta.call('PATCH', `/api/v1/firmware/rollouts/${listed.body.id}`, { ...op, body: { deviceIds: [ids[0], ids[2]] } })).status, 409, 'a cancelled rollout does not widen');
  t.equal((await ta.call('GET', `/api/v1/firmware/rollouts?tenantId=${p.tenant.id}`, op)).body.items.length, 2);

  const docs = (await ta.call('GET', '/api/docs/json')).body;
  t.ok(docs.paths['/api/v1/firmware/rollouts/{id}']?.get?.responses?.['200']?.content?.['application/json']?.schema?.properties?.progress, 'the OpenAPI document describes the progress');
  t.ok(docs.paths['/api/v1/firmware']?.post?.requestBody?.content?.['application/octet-stream'], 'and the upload as a file');
});
