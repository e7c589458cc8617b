import t from 'tap';
import { parseMac } from '../../daemon/provisioning/mac';
import { resyncEvent } from '../../daemon/provisioning/vendors/resync';
import { chooseMatch, findModel, matchPath, parseUserAgent } from '../../daemon/provisioning/vendors/match';
import { SAMPLE_DEVICES } from './samples';

t.test('MACs are accepted in every common spelling and stored one way', async (t) => {
  for (const raw of ['00:15:65:4A:A9:37', '00-15-65-4a-a9-37', '0015.654a.a937', '0015654AA937', ' 0015654aa937 ']) t.equal(parseMac(raw), '0015654aa937', raw);
  for (const bad of ['', '0015654aa93', '0015654aa9377', '00:15:65-4a:a9:37', 'zz15654aa937', '000000000000', 'ffffffffffff', '00:15:65:4a:a9:\n37']) t.equal(parseMac(bad), null, JSON.stringify(bad));
});

t.test('each sample User-Agent names its family, model and MAC', async (t) => {
  for (const [id, s] of Object.entries(SAMPLE_DEVICES)) {
    const ua = parseUserAgent(s.ua);
    t.equal(ua?.family.id, id, `${id} family`);
    t.equal(ua?.model?.model.name, findModel(s.model)!.model.name, `${id} model`);
    if (id !== 'polycom') t.equal(ua?.mac, s.mac, `${id} MAC`);
  }
  t.equal(parseUserAgent('Yealink SIP-T56A  58.80.0.25 001565f429a4')?.mac, '001565f429a4', 'Yealink T5x without colons');
  t.equal(parseUserAgent('curl/8.0'), null);
  t.equal(parseUserAgent('x'.repeat(100_000)), null, 'a huge User-Agent is read only in part and matches nothing');
});

t.test('models are found however an operator types them', async (t) => {
  t.equal(findModel('vvx400')?.model.name, 'VVX 400');
  t.equal(findModel('VVX_400')?.family.id, 'polycom');
  t.equal(findModel('7841')?.model.name, 'CP-7841-3PCC');
  t.equal(findModel('t46s')?.model.tag, '66');
  t.equal(findModel('Nokia 3310'), null);
});

t.test('names several vendors share are settled by sub-path, User-Agent, model or MAC prefix', async (t) => {
  const shared = matchPath('0015654aa937.cfg');
  t.same(shared.map((c) => c.family.id).sort(), ['fanvil', 'polycom', 'yealink']);
  t.equal(chooseMatch(shared, { userAgent: null, deviceVendor: null })?.family.id, 'yealink', 'Yealink MAC prefix');
  t.equal(chooseMatch(shared, { userAgent: parseUserAgent(SAMPLE_DEVICES.fanvil.ua), deviceVendor: null })?.family.id, 'fanvil', 'User-Agent wins over the prefix');
  t.equal(chooseMatch(matchPath('Fanvil/0015654aa937.cfg'), { userAgent: null, deviceVendor: 'yealink' })?.family.id, 'fanvil', 'sub-path wins');
  t.equal(chooseMatch(matchPath('a1b2c3d4e5f6.xml'), { userAgent: null, deviceVendor: null }), null, 'unknown prefix, no evidence: ambiguous');
  t.equal(chooseMatch(matchPath('a1b2c3d4e5f6.xml'), { userAgent: null, deviceVendor: 'snom' })?.family.id, 'snom', 'the entered model decides');
  t.equal(matchPath('Cisco/CP-7841-3PCC/00562b043615.cfg')[0]?.family.id, 'cisco-mpp');
  t.equal(matchPath('Grandstream/cfg000b828aa872.xml')[0]?.mac, '000b828aa872');
  t.same(matchPath('passwd'), []);
});

t.test('resync events per family and per model', async (t) => {
  t.equal(resyncEvent('yealink'), 'check-sync;reboot=false');
  t.equal(resyncEvent('T46S', { reboot: true }), 'check-sync;reboot=true');
  t.equal(resyncEvent('VVX 400'), 'check-sync');
  t.equal(resyncEvent('snom', { reboot: true }), 'check-sync;reboot=true');
  t.equal(resyncEvent('SPA112'), 'resync');
  t.equal(resyncEvent('grandstream', { reboot: true }), 'check-sync;reboot=true');
  t.equal(resyncEvent('unknown-vendor'), null);
});
