import t from 'tap';
import { imagePath, modelsNamedIn, parseImagePath, servedImageName, versionFromName, versionProblem } from '../../daemon/firmware/image-name';
import { deviceState, rolloutProgress } from '../../daemon/firmware/progress';
import { type DeviceInScope, type RolloutRule, inStage, macBucket, narrowing, retargeted, targetRollout } from '../../daemon/firmware/stages';
import type { Mac } from '../../daemon/provisioning/mac';
import { parseUserAgent } from '../../daemon/provisioning/vendors/match';

t.test('image names: served as phones can ask for them, never as a path', async (t) => {
  t.same(servedImageName('T46S-66.86.0.15.rom'), { name: 'T46S-66.86.0.15.rom' });
  t.same(servedImageName('T46S(T48S,T42S)-66.86.0.15.rom'), { name: 'T46S_T48S_T42S_-66.86.0.15.rom' }, "Yealink's brackets and commas become _");
  for (const hostile of ['../../etc/passwd', '..\\boot.ini', 'fw/../x.rom', '/abs.rom']) t.match(servedImageName(hostile), { reason: /bare file name/ }, hostile);
  t.match(servedImageName(''), { reason: /empty/ });
  t.match(servedImageName('a'.repeat(129)), { reason: /at most 128/ });
  t.match(servedImageName('fw\u0000.rom'), { reason: /control/ });
  t.match(servedImageName('.hidden'), { reason: /start with a letter or digit/ });
  t.match(servedImageName('..'), { reason: /start with a letter or digit/ });
});

t.test('versions: read from the name as the User-Agent writes them, or refused', async (t) => {
  t.equal(versionFromName('yealink', 'T46S-66.86.0.15.rom'), '66.86.0.15');
  t.equal(versionFromName('snom', 'snomD785-10.1.33.33-SIP-r.bin'), '10.1.33.33', 'the model number before it is not taken');
  t.equal(versionFromName('fanvil', 'x6u-2.4.0.rom'), '2.4.0');
  t.equal(versionFromName('cisco-mpp', 'sip78xx.11-3-1MPP-398.loads'), '11.3.1', "Cisco's dashes become the User-Agent's dots");
  t.equal(versionFromName('cisco-spa', 'spa50x-30x-7-5-5.bin'), '7.5.5');
  t.equal(versionFromName('polycom', '3111-48500-001.sip.ld'), null, "a Polycom part number is no version");
  t.equal(versionFromName('grandstream', 'gxp2170fw.bin'), null);
  t.equal(versionProblem('66.86.0.15'), null);
  for (const bad of ['', '../1', '1/2', '1 2', 'x'.repeat(65), '-1']) t.type(versionProblem(bad), 'string', JSON.stringify(bad));
});

t.test('the models a file name names', async (t) => {
  t.same(modelsNamedIn('T46S(T48S,T42S)-66.86.0.15.rom').map((m) => m.model.name).sort(), ['T42S', 'T46S', 'T48S']);
  t.same(modelsNamedIn('T46S-66.86.0.15.rom').map((m) => m.model.name), ['T46S'], 'version digits name no model');
  t.same(modelsNamedIn('gxp2170fw.bin'), []);
});

t.test('image paths carry the MAC of the device that fetches them', async (t) => {
  const p = imagePath('0015654aa937' as Mac, '66.86.0.15', 'T46S-66.86.0.15.rom');
  t.equal(p, 'firmware/0015654aa937/66.86.0.15/T46S-66.86.0.15.rom');
  t.same(parseImagePath(p), { mac: '0015654aa937', version: '66.86.0.15', fileName: 'T46S-66.86.0.15.rom' });
  t.equal(parseImagePath('firmware/T46S-66.86.0.15.rom'), null, "the firmware folder's own files are not images");
  t.equal(parseImagePath('firmware/0015654aa937/66.86.0.15/a/b.rom'), null);
});

t.test('the version each family reports in its User-Agent', async (t) => {
  const cases: [string, string][] = [
    ['Yealink SIP-T46S 66.86.0.15 00:15:65:4a:a9:37', '66.86.0.15'],
    ['FileTransport PolycomVVX-VVX_400-UA/5.9.5.0614', '5.9.5.0614'],
    ['Cisco-CP-7841-3PCC/11.3.1 (00562b043615)', '11.3.1'],
    ['Cisco/SPA504G-7.6.2 (001565000000)', '7.6.2'],
    ['Grandstream Model HW GXP2170 SW 1.0.11.3 DevId 000b828aa872', '1.0.11.3'],
    ['Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-gd311851 (Dec 23 2010)(MAC:00041396D9B4))', '10.1.33.33'],
    ['Fanvil X6U 2.4.0 0c383e000001', '2.4.0'],
  ];
  for (const [ua, version] of cases) t.equal(parseUserAgent(ua)?.version, version, ua);
  t.equal(parseUserAgent('Grandstream Model HW GXP2170 DevId 000b828aa872')?.version, null, 'no SW part: no version, the phone still recognised');
});

const MACS = Array.from({ length: 2000 }, (_, i) => (0x001565000000 + i * 7).toString(16).padStart(12, '0'));
const device = (i: number, over: Partial<DeviceInScope> = {}): DeviceInScope => ({ id: `d${i}`, mac: MACS[i]!, model: 'T46S', tenantId: 't1', siteId: 's1', ...over });
const rule = (over: Partial<RolloutRule>): RolloutRule => ({
  id: 'r', imageId: 'img', model: 'T46S', version: '66.86.0.15', tenantId: 't1', siteId: null, percent: 100, deviceIds: null, createdAt: '2026-12-01T00:00:00Z', ...over,
});

t.test('percentage stages: a fixed share by MAC, and a wider stage keeps the narrower one', async (t) => {
  t.equal(macBucket('0015654AA937'), macBucket('0015654aa937'), 'case does not move a phone');
  const ten = rule({ percent: 10 });
  const fifty = rule({ percent: 50 });
  const inTen = MACS.filter((_, i) => inStage(ten, device(i)));
  t.ok(inTen.length > 150 && inTen.length < 250, `about 10% of 2000 consecutive MACs (${inTen.length})`);
  t.same(MACS.filter((_, i) => inStage(ten, device(i))), inTen, 'the same phones every time');
  t.ok(inTen.every((mac) => inStage(fifty, device(MACS.indexOf(mac)))), 'every phone of the 10% stage is in the 50% stage');
  t.notOk(MACS.some((_, i) => inStage(rule({ percent: 0 }), device(i))));
  t.ok(MACS.every((_, i) => inStage(rule({ percent: 100 }), device(i))));
  t.ok(inStage(rule({ percent: null, deviceIds: ['d3'] }), device(3)));
  t.notOk(inStage(rule({ percent: null, deviceIds: ['d3'] }), device(4)));
});

t.test('the most specific rollout that reaches a device wins', async (t) => {
  const tenant = rule({ id: 'tenant', imageId: 'v1' });
  const site = rule({ id: 'site', imageId: 'v2', siteId: 's1' });
  const listed = rule({ id: 'listed', imageId: 'v3', percent: null, deviceIds: ['d1'] });
  t.equal(targetRollout(device(1), [tenant, site, listed])?.id, 'listed', 'named devices beat a site');
  t.equal(targetRollout(device(2), [tenant, site, listed])?.id, 'site', 'a site beats its tenant');
  t.equal(targetRollout(device(2, { siteId: 's2' }), [tenant, site, listed])?.id, 'tenant', "another site's phone follows the tenant");
  t.equal(targetRollout(device(2, { model: 'T48S' }), [tenant, site])?.id, undefined, 'another model: nothing');
  t.equal(targetRollout(device(2, { tenantId: 't2' }), [tenant])?.id, undefined, "another tenant's phone: nothing");
  const out = MACS.findIndex((_, i) => !inStage(rule({ percent: 10 }), device(i)));
  t.equal(targetRollout(device(out), [tenant, rule({ id: 'site10', siteId: 's1', percent: 10 })])?.id, 'tenant', "outside the site's 10% stage, the tenant's rollout still reaches it");
  const newer = rule({ id: 'newer', imageId: 'v9', createdAt: '2026-12-02T00:00:00Z' });
  t.equal(targetRollout(device(2), [tenant, newer])?.id, 'newer', 'of equals, the newest');
  t.equal(targetRollout(device(2), [newer, tenant])?.id, 'newer', 'whatever the order they come in');
  t.same(retargeted([device(1), device(2)], [tenant], [tenant, listed]).map((d) => d.id), ['d1'], 'only the phones whose image changes are told');
});

t.test('a stage only widens', async (t) => {
  t.equal(narrowing({ percent: 10, deviceIds: null }, { percent: 50 }), null);
  t.equal(narrowing({ percent: 10, deviceIds: null }, { percent: 10 }), null);
  t.match(narrowing({ percent: 50, deviceIds: null }, { percent: 10 }), { field: 'percent', reason: /only widens \(now 50, got 10\)/ });
  t.match(narrowing({ percent: 50, deviceIds: null }, { deviceIds: ['d1'] }), { field: 'deviceIds' });
  t.equal(narrowing({ percent: null, deviceIds: ['a'] }, { deviceIds: ['a', 'b'] }), null);
  t.match(narrowing({ percent: null, deviceIds: ['a', 'b'] }, { deviceIds: ['b'] }), { field: 'deviceIds', reason: /1 device\(s\).*\(a\)/ });
  t.match(narrowing({ percent: null, deviceIds: ['a'] }, { percent: 100 }), { field: 'percent' });
});

t.test('progress: each phone from what its timeline says', async (t) => {
  const now = Date.parse('2026-12-06T12:00:00Z');
  const stuck = 30 * 60_000;
  const base = { deviceId: 'd', mac: 'm' };
  t.equal(deviceState({ ...base, reportedVersion: '66.85.0.5', imageFetchedAt: null, lastSeenAt: '2026-12-06T11:59:00Z' }, '66.86.0.15', now, stuck), 'waiting');
  t.equal(deviceState({ ...base, reportedVersion: '66.85.0.5', imageFetchedAt: '2026-12-06T11:55:00Z', lastSeenAt: '2026-12-06T11:55:00Z' }, '66.86.0.15', now, stuck), 'fetched');
  t.equal(deviceState({ ...base, reportedVersion: '66.85.0.5', imageFetchedAt: '2026-12-06T11:00:00Z', lastSeenAt: '2026-12-06T11:00:00Z' }, '66.86.0.15', now, stuck), 'stuck');
  t.equal(deviceState({ ...base, reportedVersion: '66.85.0.5', imageFetchedAt: '2026-12-06T11:55:00Z', lastSeenAt: '2026-12-06T11:58:00Z' }, '66.86.0.15', now, stuck), 'failed', 'back after the image with the old version');
  t.equal(deviceState({ ...base, reportedVersion: null, imageFetchedAt: '2026-12-06T11:55:00Z', lastSeenAt: '2026-12-06T11:58:00Z' }, '66.86.0.15', now, stuck), 'fetched', 'a phone that reports no version is never judged failed');
  t.equal(deviceState({ ...base, reportedVersion: '66.86.0.15', imageFetchedAt: '2026-12-06T11:55:00Z', lastSeenAt: '2026-12-06T11:58:00Z' }, '66.86.0.15', now, stuck), 'done');
  const p = rolloutProgress([
    { ...base, deviceId: 'a', reportedVersion: '66.86.0.15', imageFetchedAt: '2026-12-06T11:55:00Z', lastSeenAt: null },
    { ...base, deviceId: 'b', reportedVersion: '66.85.0.5', imageFetchedAt: null, lastSeenAt: null },
  ], '66.86.0.15', now, stuck);
  t.match(p, { targeted: 2, fetchedImage: 1, done: 1, waiting: 1, failed: 0, stuck: 0, complete: false });
  t.equal(rolloutProgress([], '1', now, stuck).complete, false, 'a rollout reaching no phone is not complete');
});
