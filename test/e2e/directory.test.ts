import path from 'node:path';
import t from 'tap';
import { hasBinary } from '../provisioning/clients';
import { ROOT, run, startServe } from '../helpers/serve';

const MAC = '0015654aa937';
const UA = `Yealink SIP-T46S 66.85.0.5 00:15:65:4a:a9:37`;

/**
 * Tried as a new user would: a Yealink (curl with its User-Agent) fetches its
 * file from `dialtone serve`, follows the phonebook URL in it with the
 * credentials the URL carries, and gets its tenant's directory.
 */
t.test('a Yealink follows the phonebook URL in its file and gets the tenant directory', { skip: hasBinary('curl') ? false : 'curl is not installed' }, async (t) => {
  const d = await startServe(t);
  const created = await run(process.execPath, [path.join(ROOT, 'dist', 'daemon', 'cli', 'main.js'), 'tenant', 'create', '--name', 'Acme & Sons', '--domain', 'acme.example.com',
    '--admin-first', 'Ada', '--admin-last', 'Lovelace', '--admin-email', 'ada@acme.example.com'], d.env);
  t.equal(created.code, 0, created.output);
  const { tenant, token } = JSON.parse(created.output.slice(created.output.indexOf('{'), created.output.lastIndexOf('}') + 1)) as { tenant: { id: string }; token: string };
  const api = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${d.url}/api/v1${url}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const json = await res.json() as Record<string, any>;
    if (!res.ok) t.fail(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const grace = await api('POST', '/users', { firstName: 'Grace', lastName: 'Hopper <&> Co', email: 'grace@acme.example.com' });
  const hidden = await api('POST', '/users', { firstName: 'Hidden', lastName: 'Person', email: 'hidden@acme.example.com', directory: false });
  t.equal(hidden.directory, false, 'the API shows the opt-out');
  const ext = await api('POST', '/extensions', { number: '1001', userId: grace.id });
  await api('POST', '/extensions', { number: '1002', userId: hidden.id });
  await api('POST', '/extensions', { number: '1003', place: { name: 'Front Lobby' } });
  await api('POST', '/devices', { mac: MAC, model: 'T46S', extensionId: ext.id });

  const curl = (...args: string[]) => run('curl', ['-sS', '-A', UA, '-w', '\n%{http_code}', ...args], d.env);
  const status = (out: string) => out.slice(out.lastIndexOf('\n') + 1);
  const cfg = await curl(`${d.url}/prov/${MAC}.cfg`);
  t.equal(status(cfg.output), '200', 'the phone gets its file');
  const url = /^remote_phonebook\.data\.1\.url = (\S+)$/m.exec(cfg.output)?.[1];
  t.ok(url, 'the file names the phonebook URL');
  t.match(cfg.output, /^remote_phonebook\.data\.1\.name = Acme & Sons$/m, 'named after the tenant');
  const plain = new URL(url!);
  plain.username = '';
  plain.password = '';

  const denied = await curl(plain.href);
  t.equal(status(denied.output), '401', 'without the device\'s credentials the directory is refused');
  const book = await curl('--digest', url!);
  t.equal(status(book.output), '200', 'with the credentials in the URL it is served');
  t.match(book.output, '<YealinkIPPhoneDirectory>', 'as a Yealink remote phonebook');
  t.match(book.output, '<Name>Grace Hopper &lt;&amp;&gt; Co</Name>', 'a profile, its name escaped');
  t.match(book.output, '<Telephone>1001</Telephone>');
  t.match(book.output, '<Name>Front Lobby</Name>', 'a place with its extension');
  t.notMatch(book.output, 'Hidden', 'a profile with directory: false is left out');

  await api('PATCH', `/users/${hidden.id}`, { directory: true, lastName: 'Found' });
  const again = await curl('--digest', url!);
  t.match(again.output, '<Name>Hidden Found</Name>', 'a change to a profile reaches the directory at the next fetch');

  await api('PUT', `/tenants/${tenant.id}/provisioning-overrides`, { directory: false });
  const off = await curl(`--digest`, url!);
  t.equal(status(off.output), '404', 'with the tenant\'s directory off, there is none to fetch');
  const cfgOff = await curl('--digest', `${plain.origin}/prov/${MAC}.cfg`, '-u', `${decodeURIComponent(new URL(url!).username)}:${decodeURIComponent(new URL(url!).password)}`);
  t.match(cfgOff.output, /^remote_phonebook\.data\.1\.url = %NULL%$/m, 'and the phone\'s file clears the phonebook URL');
});
