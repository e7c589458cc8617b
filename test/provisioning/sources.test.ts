import t from 'tap';
import { buildDeviceSettings } from '../../daemon/provisioning/model/build';
import { TemplateRenderer, templateData } from '../../daemon/provisioning/templates/render';
import { FAMILIES } from '../../daemon/provisioning/vendors/families';
import { exampleName, findModel } from '../../daemon/provisioning/vendors/match';
import type { Mac } from '../../daemon/provisioning/mac';
import { parametersOf, sourceTable } from './parameters';
import { SAMPLE_DEVICES, SERVER, sampleAtaInput, sampleDirectory, sampleInput } from './samples';

// A zone with DST and one without, so both branches of every time template are rendered.
const ZONES = ['America/Chicago', 'Asia/Kolkata'];

// ATAs render their ports' blocks: every port scheme, with a fax machine on one port and with none.
const ATAS: Record<string, { model: string; mac: string }[]> = {
  grandstream: [{ model: 'HT814', mac: '000b82000814' }, { model: 'HT802', mac: '000b82000802' }],
  'cisco-spa': [{ model: 'SPA112', mac: '001565000112' }],
};

t.test('every parameter a template renders is in provisioning-templates/SOURCES.md, and every row is rendered', async (t) => {
  const table = sourceTable();
  const renderer = new TemplateRenderer();
  for (const family of FAMILIES) {
    const sample = SAMPLE_DEVICES[family.id as keyof typeof SAMPLE_DEVICES];
    const model = findModel(sample.model)!;
    const rendered = new Set<string>();
    const renderAll = (mac: string, input: ReturnType<typeof sampleInput>, known: NonNullable<ReturnType<typeof findModel>>) => {
      const settings = buildDeviceSettings(input);
      for (const rule of family.files) {
        const name = exampleName(rule, mac as Mac, known.model);
        if (!name) continue;
        const m = rule.pattern.exec(name)!;
        const data = templateData(family, { name, mac: mac as Mac, model: m.groups?.model ?? null, tag: m.groups?.tag ?? null }, rule.perDevice && !rule.directory ? settings : null, SERVER.provisioningUrl, 2026, rule.directory ? sampleDirectory() : null);
        for (const p of parametersOf(family.id, renderer.render(family, rule, data))) rendered.add(p);
      }
    };
    for (const assigned of [true, false]) {
      for (const zone of ZONES) {
        const input = sampleInput(sample.mac, family.id, model.model.name, assigned);
        renderAll(sample.mac, { ...input, overrides: { ...input.overrides, timezone: zone } }, model);
      }
    }
    const input = sampleInput(sample.mac, family.id, model.model.name, true);
    renderAll(sample.mac, { ...input, overrides: { ...input.overrides, directory: false } }, model);
    for (const ata of ATAS[family.id] ?? []) {
      const known = findModel(ata.model)!;
      for (const fax of [false, true]) {
        renderAll(ata.mac, sampleAtaInput(ata.mac, family.id, known.model.name, [{ port: 1, number: '2001', name: 'Reception', fax: false }, { port: 2, number: '2002', name: 'Fax', fax }]), known);
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
