import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { XMLValidator } from 'fast-xml-parser';
import { buildDeviceSettings } from '../../daemon/provisioning/model/build';
import { TemplateRenderer, templateData } from '../../daemon/provisioning/templates/render';
import { FAMILIES } from '../../daemon/provisioning/vendors/families';
import { exampleName, findModel } from '../../daemon/provisioning/vendors/match';
import { type Mac } from '../../daemon/provisioning/mac';
import { SAMPLE_DEVICES, SERVER, sampleAtaInput, sampleDirectory, sampleInput } from './samples';

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
        if (!name || rule.directory) continue;
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

const golden = (t: Test, file: string, out: string, what: string) => {
  if (UPDATE) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, out);
  }
  t.equal(out, fs.readFileSync(file, 'utf8'), `${what} matches its golden file`);
};

for (const family of FAMILIES) {
  t.test(`${family.name}: the corporate directory, and the configuration pointing at it`, async (t) => {
    const rule = family.files.find((r) => r.directory)!;
    t.ok(rule, 'the family serves a directory');
    const sample = SAMPLE_DEVICES[family.id as keyof typeof SAMPLE_DEVICES];
    const name = exampleName(rule, sample.mac as Mac, findModel(sample.model)!.model)!;
    const out = renderer.render(family, rule, templateData(family, { name, mac: sample.mac as Mac, model: null, tag: null }, null, SERVER.provisioningUrl, undefined, sampleDirectory()));
    golden(t, path.join(GOLDEN, family.id, 'directory', name.replace(/\//g, '__')), out, name);
    t.equal(XMLValidator.validate(out), true, 'well-formed XML');
    t.match(out, 'Ada &lt;&amp;&quot;&apos;&gt;', 'XML metacharacters are escaped');
    t.match(out, 'Love lace', 'a line break typed in a name becomes a space');
    t.match(out, 'Ünïcode 山田', 'letters beyond ASCII are kept as they are');
    t.match(out, '2000', 'an extension for a place without a profile is listed');
    t.notMatch(out, /Hidden|Gone/, 'a profile that opted out, and a disabled one, are left out');
    t.notMatch(out, /PASSWORD|1001xsecret/, 'the directory carries no secret');
    const settings = buildDeviceSettings(sampleInput(sample.mac, family.id, sample.model, true));
    const off = buildDeviceSettings({ ...sampleInput(sample.mac, family.id, sample.model, true), overrides: { directory: false } });
    const configs = family.files.filter((r) => r.perDevice && !r.directory);
    const render = (s: typeof settings) => configs.map((r) => {
      const n = exampleName(r, sample.mac as Mac, findModel(sample.model)!.model)!;
      const m = r.pattern.exec(n);
      return renderer.render(family, r, templateData(family, { name: n, mac: sample.mac as Mac, model: m?.groups?.model ?? null, tag: m?.groups?.tag ?? null }, s, SERVER.provisioningUrl));
    }).join('\n');
    // Polycom phones ask for <mac>-directory.xml on their own; every other vendor is told where it is.
    if (family.id !== 'polycom') {
      // Grandstream is told the folder, to which it adds the file name.
      const folder = `${family.subPaths[0]}/${name}`.replace(/\/phonebook\.xml$/, '');
      t.match(render(settings), folder, 'the configuration points the phone at its directory');
      t.notMatch(render(off), folder, 'with the directory off, it points nowhere');
    }
  });
}

// Each analog port its own extension; a fax machine's port gets fax settings, the others voice ones.
const ATAS = [
  { family: 'grandstream', model: 'HT814', mac: '000b82000814', ports: [{ port: 1, number: '2001', name: 'Reception', fax: false }, { port: 2, number: '2002', name: 'Kitchen', fax: false }, { port: 3, number: '2003', name: 'Analog Fax Machine 1', fax: true }] },
  { family: 'grandstream', model: 'HT802', mac: '000b82000802', ports: [{ port: 1, number: '2001', name: 'Reception', fax: false }, { port: 2, number: '2002', name: 'Analog Fax Machine 1', fax: true }] },
  { family: 'cisco-spa', model: 'SPA112', mac: '001565000112', ports: [{ port: 1, number: '2001', name: 'Reception', fax: false }, { port: 2, number: '2002', name: 'Analog Fax Machine 1', fax: true }] },
];

for (const ata of ATAS) {
  t.test(`${ata.model}: one extension per port, a fax machine on one`, async (t) => {
    const family = FAMILIES.find((f) => f.id === ata.family)!;
    const model = findModel(ata.model)!;
    const settings = buildDeviceSettings(sampleAtaInput(ata.mac, family.id, model.model.name, ata.ports));
    t.same(settings.lines.map((l) => [l.index, l.extension, l.fax]), ata.ports.map((p) => [p.port, p.port === 1 ? '1001' : p.number, p.fax]), 'a line per assigned port, in port order');
    for (const rule of family.files.filter((r) => r.perDevice && !r.directory)) {
      const name = exampleName(rule, ata.mac as Mac, model.model)!;
      const out = renderer.render(family, rule, templateData(family, { name, mac: ata.mac as Mac, model: null, tag: null }, settings, SERVER.provisioningUrl));
      golden(t, path.join(GOLDEN, 'ata', `${ata.model}-${name}`), out, `${ata.model} ${name}`);
      t.equal(XMLValidator.validate(out), true, 'well-formed XML');
      for (const p of ata.ports.filter((x) => x.port > 1)) t.match(out, `PORT${p.port}PASSWORD`, `port ${p.port} carries its own extension's credentials`);
      t.notMatch(out, /remote_phonebook|XML_Directory_Service_URL|P331/, 'an ATA has no screen and is pointed at no directory');
    }
  });
}
