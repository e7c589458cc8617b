import t from 'tap';
import { startTestApp } from '../helpers/app';
import { atftpGet, hasBinary, opcode, provisioning, rawTftp, rrq, tftpHpaGet } from './clients';
import { provisionedExtension } from './fixtures';

const PHONES = 50;
const MISSING_PER_PHONE = 10;

/** Runs the tasks with at most `width` under way at once. */
async function pooled<T>(tasks: (() => Promise<T>)[], width: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  }));
  return results;
}

t.test('an office behind one NAT boots together: every phone gets its own file', { skip: !hasBinary('tftp') || !hasBinary('atftp') ? 'tftp-hpa or atftp is not installed (.ci/apt-packages)' : false }, async (t) => {
  // A low limit, so the office's 500 unknown names go well over the per-source scan budget (20 times it).
  const ta = await startTestApp(t, 'sqlite', { env: { DIALTONE_PROV_RATE_LIMIT: '5' } });
  await ta.app.listen();
  const port = provisioning(ta).tftpPort();
  const f = await provisionedExtension(ta);
  const { sipCredentials } = await import('../../daemon/admin/service/extensions');
  const phones: { mac: string; creds: { password: string } }[] = [];
  for (let i = 0; i < PHONES; i++) {
    const ext = await ta.call('POST', '/api/v1/extensions', { token: f.token, body: { number: String(3000 + i), userId: f.user.id } });
    const mac = `001565${(0xa00000 + i).toString(16)}`;
    const dev = await ta.call('POST', '/api/v1/devices', { token: f.token, body: { mac, model: 'T46S', extensionId: ext.body.id } });
    t.equal(dev.status, 201);
    const creds = await sipCredentials({ knex: ta.app.runtime.db.knex, secrets: ta.app.runtime.secrets }, { tenantId: null, actor: 'test' }, ext.body.id);
    phones.push({ mac, creds });
  }
  // What firmware of several vendors tries before its own file: some names every phone asks for, some its own.
  const missing = (mac: string) => [
    'SIPDefault.cnf', 'XMLDefault.cnf.xml', 'y000000000000.cfg.bak', 'dialplan.xml', 'OS79XX.TXT',
    ...Array.from({ length: MISSING_PER_PHONE - 5 }, (_, j) => `lang/${mac}-${j}.txt`),
  ];
  const tasks = phones.map((p, i) => async () => {
    const refusals = [];
    for (const name of missing(p.mac)) refusals.push(await rawTftp(port, rrq(name)));
    const own = i % 2 === 0 ? await tftpHpaGet(port, `${p.mac}.cfg`) : await atftpGet(port, `${p.mac}.cfg`);
    return { refusals, own };
  });
  const results = await pooled(tasks, PHONES);
  const got = results.filter((r, i) => r.own.body?.includes(phones[i]!.creds.password)).length;
  t.equal(got, PHONES, `all ${PHONES} phones got their own file, with their own extension's password (tftp-hpa and atftp)`);
  const refusals = results.flatMap((r) => r.refusals);
  t.equal(refusals.length, PHONES * MISSING_PER_PHONE);
  t.ok(refusals.every((a) => opcode(a) === 5), 'every unknown name was refused');
  const limited = refusals.filter((a) => a!.readUInt16BE(2) === 0).length;
  t.ok(limited > 0, `past the scan budget unknown names are refused as too many (${limited} of ${refusals.length})`);
  t.equal(refusals.filter((a) => a!.readUInt16BE(2) === 1).length + limited, refusals.length, 'the rest as not found');
  const again = await tftpHpaGet(port, `${phones[0]!.mac}.cfg`);
  t.ok(again.body?.includes(phones[0]!.creds.password), 'a known phone is still served while the address is over its limits');
  t.match((await tftpHpaGet(port, 'y000000000066.cfg')).body, 'static.auto_provision.server.url', 'and so is the common file');
});
