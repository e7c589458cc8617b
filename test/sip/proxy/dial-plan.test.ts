import t from 'tap';
import { COUNTRY_PLANS, NANP, areaCodeOf, classifyDialed, decideCall, planFor, type DialContext } from '../../../daemon/sip/proxy/dial-plan';
import { CALLING_SCOPES } from '../../../daemon/admin/domain/extension';

const extensions = new Set(['1001', '1002', '911', 'front.desk']);
const ctx = (country: string, areaCode: string | null = null): DialContext => ({
  plan: planFor(country), areaCode, emergencyNumbers: ['911', '112', '999', '933'], isExtension: (u) => extensions.has(u),
});

// dialed, country, site area code, expected class (or a refusal status)
const GOLDEN: [string, string, string | null, string | number][] = [
  ['911', 'US', '312', 'emergency'],
  ['911#', 'US', '312', 'emergency'],
  ['112', 'FR', null, 'emergency'],
  ['999', 'GB', null, 'emergency'],
  ['933', 'US', null, 'emergency'],
  ['1002', 'US', '312', 'internal'],
  ['front.desk', 'US', '312', 'internal'],
  ['*97', 'US', '312', 'internal'],
  ['*8000', 'FR', null, 'internal'],
  ['5550100', 'US', '312', 'local'],
  ['555-0100', 'US', '312', 'local'],
  ['3125550100', 'US', '312', 'local'],
  ['(312) 555-0100', 'US', '312', 'local'],
  ['4155550100', 'US', '312', 'national'],
  ['3125550100', 'US', null, 'national'],
  ['13125550100', 'US', '312', 'national'],
  ['14155550100', 'CA', '416', 'national'],
  ['+14155550100', 'US', '312', 'national'],
  ['%2B14155550100', 'US', '312', 'national'],
  ['+14155550100;phone-context=+1', 'US', '312', 'national'],
  ['411', 'US', '312', 'local'],
  ['01144207946000', 'US', '312', 'international'],
  ['+442079460000', 'US', '312', 'international'],
  ['+33612345678', 'US', '312', 'international'],
  ['01114155550100', 'US', '312', 'national'],
  ['+442079460000', 'GB', null, 'national'],
  ['02079460000', 'GB', null, 'national'],
  ['7946000', 'GB', null, 'local'],
  ['0033612345678', 'GB', null, 'international'],
  ['0612345678', 'FR', null, 'national'],
  ['+33612345678', 'FR', null, 'national'],
  ['0014155550100', 'FR', null, 'international'],
  ['612345678', 'FR', null, 404],
  ['5550100', 'DE', '312', 'local'],
  ['', 'US', '312', 484],
  ['alice', 'US', '312', 404],
  ['5550100abc', 'US', '312', 404],
  ['9'.repeat(300), 'US', '312', 404],
  ['+' + '1'.repeat(40), 'US', '312', 404],
  ['+12', 'US', '312', 404],
  ['0', 'US', '312', 404],
  ['555', 'US', '312', 404],
  ['15550100', 'US', '312', 404],
  ['%E0%A4%A', 'US', '312', 404],
  ['555%000100', 'US', '312', 404],
  ['5550100\r\nVia: evil', 'US', '312', 404],
  ['#31#5550100', 'US', '312', 404],
];

t.test('golden classification', async (t) => {
  for (const [dialed, country, area, expected] of GOLDEN) {
    const c = classifyDialed(dialed, ctx(country, area));
    const got = c.class ?? c.status;
    t.equal(got, expected, `${JSON.stringify(dialed.slice(0, 40))} from ${country}${area ? ` (${area})` : ''}`);
  }
});

t.test('an emergency number wins over an extension of the same number', async (t) => {
  t.equal(classifyDialed('911', ctx('US')).class, 'emergency');
});

t.test('permission: each scope reaches its class and those below; emergency and internal always', async (t) => {
  const expect: Record<string, string[]> = {
    internal: ['emergency', 'internal'],
    local: ['emergency', 'internal', 'local'],
    national: ['emergency', 'internal', 'local', 'national'],
    international: ['emergency', 'internal', 'local', 'national', 'international'],
  };
  const sample: Record<string, string> = { emergency: '911', internal: '1001', local: '5550100', national: '4155550100', international: '+442079460000' };
  for (const scope of CALLING_SCOPES) {
    for (const [cls, dialed] of Object.entries(sample)) {
      const d = decideCall(dialed, scope, ctx('US', '312'));
      t.equal(d.allow, expect[scope]!.includes(cls), `${scope} → ${cls}`);
      if (!d.allow) {
        t.equal(d.status, 403);
        t.equal(d.reason, `${cls[0]!.toUpperCase()}${cls.slice(1)} Calls Not Allowed for This Extension`);
      }
    }
  }
  t.same(decideCall('+14155550100', 'local', ctx('US', '312')), { allow: false, status: 403, reason: 'National Calls Not Allowed for This Extension' });
  t.same(decideCall('911', 'internal', ctx('US')), { allow: true, class: 'emergency', number: '911' });
  t.same(decideCall('', 'international', ctx('US')), { allow: false, status: 484, reason: 'Address Incomplete' });
  t.same(decideCall('x'.repeat(300), 'international', ctx('US')), { allow: false, status: 404, reason: 'Not a Dialable Number' });
  for (const d of [decideCall('\u0000\r\n', 'international', ctx('US')), decideCall('+44', 'local', ctx('US'))]) {
    t.notOk(d.allow);
    if (!d.allow) t.match(d.reason, /^[A-Za-z ]+$/, 'a reason phrase is plain text, safe in a status line');
  }
});

t.test('plans: chosen by the site country, NANP otherwise; every plan is well formed', async (t) => {
  t.equal(planFor('us'), NANP);
  t.equal(planFor('GB').countryCode, '44');
  t.equal(planFor(null), NANP);
  t.equal(planFor('ZZ'), NANP);
  const seen = new Set<string>();
  for (const p of COUNTRY_PLANS) {
    for (const c of p.countries) {
      t.notOk(seen.has(c), `${c} is in one plan only`);
      seen.add(c);
    }
    t.match(p.countryCode, /^[1-9][0-9]{0,2}$/);
    t.ok(p.nationalLengths[0] <= p.nationalLengths[1]);
  }
});

t.test('the area code of a caller ID', async (t) => {
  t.equal(areaCodeOf('+13125550100', NANP), '312');
  t.equal(areaCodeOf('13125550100', NANP), '312');
  t.equal(areaCodeOf('312-555-0100', NANP), '312');
  t.equal(areaCodeOf('1001', NANP), null, 'an extension number has none');
  t.equal(areaCodeOf('+442079460000', NANP), null);
  t.equal(areaCodeOf('0312555010', NANP), null);
  t.equal(areaCodeOf(null, NANP), null);
  t.equal(areaCodeOf('+442079460000', planFor('GB')), null, 'plans without area-code dialing have none');
});
