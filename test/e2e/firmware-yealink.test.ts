import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { startTestApp } from '../helpers/app';
import { freeTcpPort } from '../helpers/ports';
import { provisionedExtension } from '../provisioning/fixtures';
import { curl, hasBinary, provisioning, tftpHpaGet } from '../provisioning/clients';

const skip = hasBinary('curl') ? false : 'curl is not installed (.ci/apt-packages)';
const MAC = '0015654aa937';
const OLD = 'Yealink SIP-T46S 66.85.0.5 00:15:65:4a:a9:37';
const NEW = 'Yealink SIP-T46S 66.86.0.15 00:15:65:4a:a9:37';

t.test('a Yealink is upgraded by a rollout, as curl with its User-Agent sees it', { skip }, async (t) => {
  // The public URL names the port the daemon listens on, so the phone can follow the URLs in its file as they are.
  const port = await freeTcpPort();
  const ta = await startTestApp(t, 'sqlite', { env: { DIALTONE_PUBLIC_URL: `http://127.0.0.1:${port}` } });
  ta.app.runtime.config.httpPort = port;
  await ta.app.listen();
  const api = `http://127.0.0.1:${port}/api/v1`;
  const op = ['-H', `Authorization: Bearer ${ta.operatorToken}`];
  const json = async (args: string[]) => {
    const r = await curl(args);
    return { status: r.status, body: JSON.parse(r.body || 'null') };
  };
  const p = await provisionedExtension(ta);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-fw-e2e-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const rom = path.join(dir, 'T46S-66.86.0.15.rom');
  fs.writeFileSync(rom, 'YEALINK ROM 66.86.0.15 '.repeat(5000));
  const image = await json([...op, '-H', 'content-type: application/octet-stream', '--data-binary', `@${rom}`, `${api}/firmware?model=T46S&fileName=T46S-66.86.0.15.rom`]);
  t.equal(image.status, 201, 'the operator uploads the image; the version comes from its name');
  t.equal(image.body.version, '66.86.0.15');

  const device = await json(['-H', `Authorization: Bearer ${p.token}`, '-H', 'content-type: application/json', '--data', JSON.stringify({ mac: MAC, model: 'T46S', extensionId: p.extension.id }), `${api}/devices`]);
  t.equal(device.status, 201);
  const rollout = await json([...op, '-H', 'content-type: application/json', '--data', JSON.stringify({ imageId: image.body.id, tenantId: p.tenant.id, percent: 100 }), `${api}/firmware/rollouts`]);
  t.equal(rollout.status, 201);
  const progress = async () => (await json([...op, `${api}/firmware/rollouts/${rollout.body.id}`])).body.progress;
  t.match(await progress(), { targeted: 1, waiting: 1, fetchedImage: 0, done: 0, complete: false }, 'the phone is targeted and has fetched nothing yet');

  const cfg = await curl(['-A', OLD, `http://127.0.0.1:${port}/prov/${MAC}.cfg`]);
  t.equal(cfg.status, 200, 'the phone fetches its configuration');
  const url = /^static\.firmware\.url = (\S+)$/m.exec(cfg.body)?.[1];
  t.equal(url, `http://127.0.0.1:${port}/prov/firmware/${MAC}/66.86.0.15/T46S-66.86.0.15.rom`, 'and finds the firmware URL in it');
  const user = /^static\.auto_provision\.server\.username = (\S+)$/m.exec(cfg.body)![1]!;
  const pass = /^static\.auto_provision\.server\.password = (\S+)$/m.exec(cfg.body)![1]!;

  t.equal((await curl(['-A', OLD, url!])).status, 401, 'the image, like the configuration, needs the device credentials');
  t.equal((await curl(['-A', OLD, '--digest', '-u', `${user}:wrong`, url!])).status, 401);
  const other = url!.replace(MAC, '001565000001');
  t.equal((await curl(['-A', OLD, '--digest', '-u', `${user}:${pass}`, other])).status, 403, "another MAC's path is refused to this phone's User-Agent");
  const fetched = await curl(['-A', OLD, '--digest', '-u', `${user}:${pass}`, url!]);
  t.equal(fetched.status, 200, 'with them the phone fetches the image');
  t.equal(fetched.body, fs.readFileSync(rom, 'utf8'), 'whole');
  t.match(fetched.headers, /content-type: application\/octet-stream/i);
  t.match(await progress(), { targeted: 1, fetchedImage: 1, done: 0, devices: [{ state: 'fetched', reportedVersion: '66.85.0.5' }] }, 'the rollout shows the image fetched');

  const tftp = await tftpHpaGet(provisioning(ta).tftpPort(), `firmware/${MAC}/66.86.0.15/T46S-66.86.0.15.rom`);
  t.equal(tftp.body, fs.readFileSync(rom, 'utf8'), 'TFTP serves the same image by the same name');

  const after = await curl(['-A', NEW, '--digest', '-u', `${user}:${pass}`, `http://127.0.0.1:${port}/prov/${MAC}.cfg`]);
  t.equal(after.status, 200, 'back from the flash, the phone fetches its configuration with its new User-Agent');
  t.match(await progress(), { targeted: 1, fetchedImage: 1, done: 1, failed: 0, stuck: 0, complete: true, devices: [{ state: 'done', reportedVersion: '66.86.0.15' }] }, 'and the rollout shows it done');

  const events = await json(['-H', `Authorization: Bearer ${p.token}`, `${api}/devices/${device.body.id}/events`]);
  const reports = events.body.items.filter((e: { kind: string }) => e.kind === 'firmware').map((e: { detail: string }) => e.detail);
  t.same(reports, ['66.86.0.15 (was 66.85.0.5)', '66.85.0.5'], 'the timeline records each version the phone reported');
  t.ok(events.body.items.some((e: { kind: string; file: string; result: string }) => e.kind === 'fetch' && e.file === `firmware/${MAC}/66.86.0.15/T46S-66.86.0.15.rom` && e.result === 'ok'), 'and the image fetch');
});
