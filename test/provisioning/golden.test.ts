import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { XMLValidator } from 'fast-xml-parser';
import { buildDeviceSettings } from '../../daemon/provisioning/model/build';
import { TemplateRenderer, templateData } from '../../daemon/provisioning/templates/render';
import { FAMILIES } from '../../daemon/provisioning/vendors/families';
import { exampleName, findModel } from '../../daemon/provisioning/vendors/match';
import { type Mac } from '../../daemon/provisioning/mac';
import { SAMPLE_DEVICES, SERVER, sampleInput } from './samples';

// Set DIALTONE_UPDATE_GOLDEN=1 to rewrite the expected files after a deliberate template change, then review the diff.
const UPDATE = process.env.DIALTONE_UPDATE_GOLDEN === '1';
const GOLDEN = path.join(__dirname, 'golden');
const renderer = new TemplateRenderer();

for (const family of FAMILIES) {
  t.test(`${family.name}: every file, provisioned and pending`, async (t) => {
    const sample = SAMPLE_DEVICES[family.id as keyof typeof SAMPLE_DEVICES];
    t.ok(sample, 'a sample device exists for the family');
    const model = findModel(sample.model)!;
    t.equal(model.family.id, family.id, 'the sample model belongs to the family');
    for (const mode of ['full', 'activation'] as const) {
      const settings = buildDeviceSettings(sampleInput(sample.mac, family.id, model.model.name, mode === 'full'));
      for (const rule of family.files) {
        const name = exampleName(rule, sample.mac as Mac, model.model);
        if (!name) continue;
        const m = rule.pattern.exec(name);
        t.ok(m, `${name} matches its own rule`);
        const data = templateData(family, { name, mac: sample.mac as Mac, model: m?.groups?.model ?? null, tag: m?.groups?.tag ?? null }, rule.perDevice ? settings : null, SERVER.provisioningUrl);
        const out = renderer.render(family, rule, data);
        const file = path.join(GOLDEN, family.id, mode, name.replace(/\//g, '__'));
        if (UPDATE) {
          fs.mkdirSync(path.dirname(file), { recursive: true });
          fs.writeFileSync(file, out);
        }
        t.equal(out, fs.readFileSync(file, 'utf8'), `${mode} ${name} matches its golden file`);
        if (rule.format === 'xml') {
          t.equal(XMLValidator.validate(out), true, `${mode} ${name} is well-formed XML`);
        } else {
          const bad = out.split('\n').filter((l) => !family.lineGrammar!.test(l));
          t.same(bad, [], `${mode} ${name}: every line fits the ${family.id} grammar`);
        }
        if (!rule.perDevice) {
          t.notMatch(out, /PASSWORD/, `${name} is common and holds no secret`);
          continue;
        }
        if (mode === 'full') {
          t.match(out, 'EXTENSIONPASSWORD', `${name} carries the extension's SIP password`);
          t.notMatch(out, 'ACTIVATIONPASSWORD', `${name} does not carry the activation password`);
          t.notMatch(out, /Love\nlace/, 'a line break typed in a name never reaches the file');
        } else {
          t.match(out, 'ACTIVATIONPASSWORD', `${name} carries the activation credentials`);
          t.notMatch(out, 'EXTENSIONPASSWORD', `${name} never carries an extension's password`);
          t.notMatch(out, '1001xsecret', `${name} never names the extension's SIP user`);
        }
        t.match(out, 'PROVPASSWORD', `${name} carries the device's provisioning credentials`);
      }
    }
  });
}
