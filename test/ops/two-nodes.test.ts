import t from 'tap';
import { loadSecretKey } from '../../daemon/crypto/secret-key';
import { SecretBox } from '../../daemon/crypto/secret-box';
import { parseMac } from '../../daemon/provisioning/mac';
import { newDeviceRow } from '../../daemon/provisioning/store/devices';
import { openDatabase } from '../../daemon/storage/database';
import { MYSQL_URL } from '../helpers/databases';
import { KEY, startCluster, until } from '../helpers/nodes';

t.test('two daemons on one MariaDB and Redis: a once-only job runs on one of them', { skip: MYSQL_URL ? false : 'DIALTONE_TEST_MYSQL_URL is not set' }, async (t) => {
  const cluster = await startCluster(t);
  // A pending device that stopped asking 40 days ago, for the expiry both nodes would otherwise run at start.
  const knex = openDatabase(cluster.dbUrl);
  t.teardown(() => knex.close());
  const row = newDeviceRow(new SecretBox(loadSecretKey(KEY, cluster.env.DIALTONE_DATA_DIR!).key), { mac: parseMac('0015654aa937')!, tenantId: null, vendor: 'yealink', model: null, extensionId: null });
  const old = new Date(Date.now() - 40 * 86_400_000).toISOString();
  await knex.knex('devices').insert({ ...row, created_at: old, last_seen_at: old });

  const nodes = await Promise.all([cluster.start(), cluster.start()]);
  for (const n of nodes) {
    t.same(await (await fetch(`${n.url}/readyz`)).json(), { status: 'ready', database: 'up', redis: 'up', sip: 'up' });
  }
  await until('the stale pending device to be removed', async () => (await knex.knex('devices').where('id', row.id as string).first()) === undefined);
  const all = nodes.map((n) => n.out()).join('');
  const count = (re: RegExp) => all.match(new RegExp(re.source, 'g'))?.length ?? 0;
  t.equal(count(/"job":"pending-device-expiry","msg":"once-only job: running here"/), 1, 'one node ran the expiry');
  t.equal(count(/"job":"pending-device-expiry","msg":"once-only job: another process holds the lease"/), 1, 'the other left it');
  t.equal(count(/removed pending devices that stopped asking/), 1);

  for (const n of nodes) n.proc.kill('SIGTERM');
  for (const n of nodes) t.equal(await n.exited, 0, 'each node drains and exits 0');
});
