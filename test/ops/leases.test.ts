import crypto from 'node:crypto';
import t from 'tap';
import { createLogger } from '../../daemon/core/log';
import { LocalLeases, RedisLeases } from '../../daemon/ops/leases';
import { REDIS_DEPLOYMENTS } from '../helpers/redis-servers';
import { freeTcpPort } from '../helpers/ports';

const log = createLogger('silent');

t.test('without Redis, one process: the job always runs', async (t) => {
  const leases = new LocalLeases();
  let runs = 0;
  t.equal(await leases.oncePer('x', 60_000, async () => void runs++), true);
  t.equal(await leases.oncePer('x', 60_000, async () => void runs++), true);
  t.equal(runs, 2);
});

for (const d of REDIS_DEPLOYMENTS) t.test(`two processes on ${d.name}: the job runs in one of them per period`, { skip: d.skip }, async (t) => {
  const url = await d.start(t);
  const prefix = `dialtone-test:${crypto.randomBytes(6).toString('hex')}:lease:`;
  const a = new RedisLeases(url, log, prefix);
  const b = new RedisLeases(url, log, prefix);
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  const ran: string[] = [];
  const both = await Promise.all([
    a.oncePer('expiry', 400, async () => void ran.push('a')),
    b.oncePer('expiry', 400, async () => void ran.push('b')),
  ]);
  t.equal(ran.length, 1, `ran once (${ran.join()})`);
  t.same(both.filter(Boolean).length, 1);
  t.equal(await a.oncePer('expiry', 400, async () => void ran.push('a')), false, 'not again within the period, not even where it ran');
  t.equal(await a.oncePer('other-job', 400, async () => void ran.push('a-other')), true, 'each job has its own lease');
  await new Promise((r) => setTimeout(r, 500));
  t.equal(await b.oncePer('expiry', 400, async () => void ran.push('b')), true, 'the next period runs again');
});

t.test('Redis unreachable: the job is skipped, not run everywhere', async (t) => {
  const leases = new RedisLeases(`redis://127.0.0.1:${await freeTcpPort()}/0`, log);
  t.teardown(() => leases.close());
  let runs = 0;
  t.equal(await leases.oncePer('x', 1000, async () => void runs++), false);
  t.equal(runs, 0);
});
