import t from 'tap';
import { buildDeviceSettings } from '../../daemon/provisioning/model/build';
import { TemplateRenderer, templateData } from '../../daemon/provisioning/templates/render';
import { FAMILIES } from '../../daemon/provisioning/vendors/families';
import { exampleName, findModel } from '../../daemon/provisioning/vendors/match';
import type { Mac } from '../../daemon/provisioning/mac';
import { parametersOf, sourceTable } from './parameters';
import { SAMPLE_DEVICES, SERVER, sampleInput } from './samples';

// A zone with DST and one without, so both branches of every time template are rendered.
const ZONES = ['America/Chicago', 'Asia/Kolkata'];

t.test('every parameter a template renders is in provisioning-templates/SOURCES.md, and every row is rendered', async (t) => {
  const table = sourceTable();
  const renderer = new TemplateRenderer();
  for (const family of FAMILIES) {
    const sample = SAMPLE_DEVICES[family.id as keyof typeof SAMPLE_DEVICES];
    const model = findModel(sample.model)!;
    const rendered = new Set<string>();
    for (const assigned of [true, false]) {
      for (const zone of ZONES) {
        const input = sampleInput(sample.mac, family.id, model.model.name, assigned);
        const settings = buildDeviceSettings({ ...input, overrides: { ...input.overrides, timezone: zone } });
        for (const rule of family.files) {
          const name = exampleName(rule, sample.mac as Mac, model.model);
          if (!name) continue;
          const m = rule.pattern.exec(name)!;
          const out = renderer.render(family, rule, templateData(family, { name, mac: sample.mac as Mac, model: m.groups?.model ?? null, tag: m.groups?.tag ?? null }, rule.perDevice ? settings : null, SERVER.provisioningUrl, 2026));
          for (const p of parametersOf(family.id, out)) rendered.add(p);
        }
      }
    }
    const rows = table.get(family.id) ?? new Map<string, string[]>();
    t.same([...rendered].filter((p) => !rows.has(p)).sort(), [], `${family.id}: every rendered parameter has a row`);
    t.same([...rows.keys()].filter((p) => !rendered.has(p)).sort(), [], `${family.id}: no row for a parameter nothing renders`);
    for (const [p, [w, f, status]] of rows) {
      if (!w && !f) t.match(status, /^(guide|unconfirmed): \S/, `${family.id} ${p}: without an open source, the row says which guide, or that it is unconfirmed`);
    }
  }
});

t.test('the parameter reader', async (t) => {
  t.same([...parametersOf('yealink', '#!version:1.0.0.1\naccount.1.enable = 1\nlinekey.12.type = 16\n')], ['account.N.enable', 'linekey.N.type']);
  t.same([...parametersOf('grandstream', '<?xml version="1.0"?><gs_provision><config><P1365>11</P1365><P1468>1002</P1468><P32>60</P32></config></gs_provision>')].sort(), ['P1363+2k', 'P1466+2k', 'P32', 'config', 'gs_provision']);
  t.same([...parametersOf('fanvil', '<SIP CONFIG MODULE>\nSIP1 Register TTL  :3600\n')], ['<SIP CONFIG MODULE>', 'SIPN Register TTL']);
});
