import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { buildDeviceSettings } from '../../daemon/provisioning/model/build';
import { vendorTime, zoneRules } from '../../daemon/provisioning/model/timezone';
import { TemplateRenderer, templateData } from '../../daemon/provisioning/templates/render';
import { FAMILIES } from '../../daemon/provisioning/vendors/families';
import { exampleName, findModel } from '../../daemon/provisioning/vendors/match';
import type { Mac } from '../../daemon/provisioning/mac';
import { SAMPLE_DEVICES, SERVER, sampleInput } from './samples';

const UPDATE = process.env.DIALTONE_UPDATE_GOLDEN === '1';
const GOLDEN = path.join(__dirname, 'golden', 'timezones');
const YEAR = 2026;
// Mexico City left daylight saving time in October 2022: a phone told the old rule is an hour off every summer.
const ZONES = ['America/New_York', 'Europe/London', 'Australia/Sydney', 'Asia/Kolkata', 'Asia/Tokyo', 'America/Mexico_City'];

t.test('zone rules come from the IANA database', async (t) => {
  t.same(zoneRules('America/New_York', YEAR), {
    zone: 'America/New_York', standard: -300,
    dst: { save: 60, start: { month: 3, week: 2, weekday: 0, minutes: 120 }, end: { month: 11, week: 1, weekday: 0, minutes: 120 } },
  }, 'second Sunday of March to first Sunday of November, at 02:00');
  t.same(zoneRules('Europe/London', YEAR).dst, { save: 60, start: { month: 3, week: 5, weekday: 0, minutes: 60 }, end: { month: 10, week: 5, weekday: 0, minutes: 120 } }, 'last Sundays, at 01:00 GMT and 02:00 BST');
  t.same(zoneRules('Australia/Sydney', YEAR), {
    zone: 'Australia/Sydney', standard: 600,
    dst: { save: 60, start: { month: 10, week: 1, weekday: 0, minutes: 120 }, end: { month: 4, week: 1, weekday: 0, minutes: 180 } },
  }, 'southern hemisphere: starts in October, ends in April at 03:00 daylight time');
  t.same(zoneRules('Asia/Kolkata', YEAR), { zone: 'Asia/Kolkata', standard: 330, dst: null }, 'half-hour offset, no DST');
  t.same(zoneRules('America/Mexico_City', YEAR), { zone: 'America/Mexico_City', standard: -360, dst: null }, 'no DST since 2022');
  t.same(zoneRules('America/Mexico_City', 2022).dst?.start, { month: 4, week: 1, weekday: 0, minutes: 120 }, 'its old rule, in force for its last summer');
  t.same(zoneRules('America/Mexico_City', 2023).dst, null, 'and none from the year after');
  t.equal(zoneRules('Australia/Lord_Howe', YEAR).dst?.save, 30, 'a half-hour saving');
  t.same(zoneRules('Africa/Casablanca', YEAR), { zone: 'Africa/Casablanca', standard: 60, dst: null }, 'a rule that follows Ramadan has no phone form: the offset most of the year');
  t.equal(zoneRules('Europe/London', 2027).dst?.start.week, 5, 'March 28th 2027 is the last Sunday, not the fourth');
  t.same(zoneRules('UTC', YEAR), { zone: 'UTC', standard: 0, dst: null });
  for (const bad of ['Mars/Olympus_Mons', '', '../../etc/passwd', 'America/New_York\n']) t.throws(() => zoneRules(bad, YEAR), RangeError, `${JSON.stringify(bad)} is refused, not guessed`);
});

t.test('each vendor form', async (t) => {
  t.same(vendorTime('America/New_York', 'yealink', YEAR), { timeZone: '-5', dst: { start: '3/2/7/2', end: '11/1/7/2', offsetMinutes: 60 } });
  t.same(vendorTime('Asia/Kolkata', 'yealink', YEAR), { timeZone: '+5.5', dst: null });
  t.same(vendorTime('Europe/London', 'polycom', YEAR).dst?.start, { month: 3, date: null, dayOfWeek: 1, lastInMonth: 1, time: 1 });
  t.same(vendorTime('America/New_York', 'polycom', YEAR).dst?.start, { month: 3, date: 8, dayOfWeek: 1, lastInMonth: 0, time: 2 });
  t.same(vendorTime('Europe/London', 'cisco', YEAR), { timeZone: 'GMT+00:00', dstRule: 'start=3/-1/7/1:0:0;end=10/-1/7/2:0:0;save=1' });
  t.same(vendorTime('Australia/Lord_Howe', 'cisco', YEAR).dstRule, 'start=10/1/7/2:0:0;end=4/1/7/2:0:0;save=0:30');
  t.same(vendorTime('Asia/Kolkata', 'cisco', YEAR), { timeZone: 'GMT+05:30', dstRule: null });
  t.same(vendorTime('America/New_York', 'posix', YEAR), { tz: 'STD+5DST+4,M3.2.0/02:00:00,M11.1.0/02:00:00' });
  t.same(vendorTime('Australia/Sydney', 'posix', YEAR), { tz: 'STD-10DST-11,M10.1.0/02:00:00,M4.1.0/03:00:00' });
  t.same(vendorTime('Asia/Kolkata', 'posix', YEAR), { tz: 'STD-5:30' });
  t.same(vendorTime('Europe/London', 'snom', YEAR), { code: 'GBR-0', utcOffset: 0, dst: '3600 03.05.07 01:00:00 10.05.07 02:00:00' });
  t.same(vendorTime('America/Mexico_City', 'snom', YEAR), { code: null, utcOffset: -21600, dst: null }, 'no zone code where the vendor table may carry old rules');
  t.same(vendorTime('America/New_York', 'fanvil', YEAR), { timeZone: -20, dst: { minOffset: 60, start: { month: 3, week: 2, weekday: 0, hour: 2 }, end: { month: 11, week: 1, weekday: 0, hour: 2 } } });
  t.same(vendorTime('Asia/Kolkata', 'fanvil', YEAR), { timeZone: 22, dst: null }, 'quarter hours');
});

t.test('golden files: every vendor in New York, London, Sydney, Kolkata, Tokyo and Mexico City', async (t) => {
  const renderer = new TemplateRenderer();
  for (const family of FAMILIES) {
    const sample = SAMPLE_DEVICES[family.id as keyof typeof SAMPLE_DEVICES];
    const model = findModel(sample.model)!;
    const rule = family.files.find((r) => r.perDevice && exampleName(r, sample.mac as Mac, model.model))!;
    const name = exampleName(rule, sample.mac as Mac, model.model)!;
    const m = rule.pattern.exec(name)!;
    for (const zone of ZONES) {
      const input = sampleInput(sample.mac, family.id, model.model.name, true);
      const settings = buildDeviceSettings({ ...input, overrides: { ...input.overrides, timezone: zone } });
      const out = renderer.render(family, rule, templateData(family, { name, mac: sample.mac as Mac, model: m.groups?.model ?? null, tag: m.groups?.tag ?? null }, settings, SERVER.provisioningUrl, YEAR));
      const file = path.join(GOLDEN, family.id, `${zone.replace('/', '_')}${path.extname(name)}`);
      if (UPDATE) {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, out);
      }
      t.equal(out, fs.readFileSync(file, 'utf8'), `${family.id} ${zone}`);
    }
  }
});
