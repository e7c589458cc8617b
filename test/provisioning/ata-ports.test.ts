import t from 'tap';
import { startTestApp } from '../helpers/app';
import { databaseKinds } from '../helpers/databases';
import { provisionedExtension } from './fixtures';

for (const kind of databaseKinds()) {
  t.test(`an ATA's ports through the devices API on ${kind}`, async (t) => {
    const ta = await startTestApp(t, kind);
    const f = await provisionedExtension(ta);
    const ext = async (number: string, body: Record<string, unknown> = {}) => {
      const r = await ta.call('POST', '/api/v1/extensions', { token: f.token, body: { number, place: { name: `Room ${number}` }, ...body } });
      t.equal(r.status, 201, r.raw);
      return r.body.id as string;
    };
    const kitchen = await ext('2002');
    const fax = await ext('2003');
    const lobby = await ext('2004');
    const patched = await ta.call('PATCH', `/api/v1/extensions/${fax}`, { token: f.token, body: { fax: { machine: true } } });
    t.equal(patched.status, 200);
    t.match(patched.body.fax, { machine: true }, "the extension's fax machine is a setting of its own");
    t.equal((await ta.call('PATCH', `/api/v1/extensions/${fax}`, { token: f.token, body: { fax: { machine: 'yes' } } })).status, 400, 'fax.machine is a boolean');

    const mac = '000b82000814';
    const created = await ta.call('POST', '/api/v1/devices', { token: f.token, body: { mac, model: 'HT814', extensionId: f.extension.id, ports: { 2: kitchen, 3: fax } } });
    t.equal(created.status, 201, created.raw);
    t.same(created.body.ports, [{ port: 2, extensionId: kitchen }, { port: 3, extensionId: fax }], 'each port its extension');

    const cfg = await ta.call('GET', `/prov/cfg${mac}.xml`, {});
    t.equal(cfg.status, 200);
    t.match(cfg.raw, '<P4061>', "port 2's row");
    t.match(cfg.raw, '<P4152>1</P4152>', 'the fax port is on profile 2');
    t.match(cfg.raw, '<P710>0</P710>', 'which relays T.38');
    t.match(cfg.raw, '<P825>1</P825>', 'with its line echo canceller off');
    t.match(cfg.raw, '<P4598>0</P4598>', 'port 4, without an extension, is off');

    const phone = await ta.call('POST', '/api/v1/devices', { token: f.token, body: { mac: '0015654aa001', model: 'T46S', extensionId: lobby, ports: { 2: kitchen } } });
    t.equal(phone.status, 400, 'a phone has one port');
    t.match(phone.body.details, [{ field: 'ports' }]);
    const range = await ta.call('PATCH', `/api/v1/devices/${created.body.id}`, { token: f.token, body: { ports: { 5: lobby, 1: lobby, x: lobby } } });
    t.equal(range.status, 400);
    t.same(range.body.details.map((d: { field: string }) => d.field).sort(), ['ports.1', 'ports.5', 'ports.x'], 'each port out of 2 to 4 is named');
    const twice = await ta.call('PATCH', `/api/v1/devices/${created.body.id}`, { token: f.token, body: { ports: { 2: lobby, 4: lobby } } });
    t.equal(twice.status, 400, 'one extension on two ports');

    const other = await ta.call('POST', '/api/v1/devices', { token: f.token, body: { mac: '001565000112', model: 'SPA112', extensionId: lobby, ports: { 2: kitchen } } });
    t.equal(other.status, 409, "an extension on another device's port has a phone");
    t.equal(other.body.details[0].field, 'ports.2');
    t.match(other.body.details[0].reason, 'port 2', 'the answer names the port it is on');
    const moved = await ta.call('POST', '/api/v1/devices', { token: f.token, body: { mac: '001565000112', model: 'SPA112', extensionId: lobby, ports: { 2: kitchen }, replace: true } });
    t.equal(moved.status, 201, 'replace moves it');
    t.same((await ta.call('GET', `/api/v1/devices/${created.body.id}`, { token: f.token })).body.ports, [{ port: 3, extensionId: fax }], 'and frees the port it was on');
    const spa = await ta.call('GET', `/prov/001565000112.xml`, {});
    t.match(spa.raw, '<User_ID_2_ ua="na">', "the SPA112's second line");

    const freed = await ta.call('PATCH', `/api/v1/devices/${created.body.id}`, { token: f.token, body: { extensionId: null } });
    t.equal(freed.status, 200);
    t.same(freed.body.ports, [], "freeing port 1 frees the device's other ports");
    const orphan = await ta.call('PATCH', `/api/v1/devices/${created.body.id}`, { token: f.token, body: { ports: { 2: fax } } });
    t.equal(orphan.status, 400, 'ports need port 1 first');
  });
}
