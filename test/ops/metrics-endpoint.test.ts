import { spawn } from 'node:child_process';
import t from 'tap';
import { databaseKinds } from '../helpers/databases';
import { makeTenant, startTestApp } from '../helpers/app';
import { freeTcpPort } from '../helpers/ports';

// Every family the operator's dashboards rely on; each must be in the very first scrape.
const FAMILIES = [
  'dialtone_build_info', 'dialtone_dependency_up', 'dialtone_mail_queue', 'dialtone_mail_send_failures_total',
  'dialtone_provisioning_fetches_total', 'dialtone_provisioning_fetch_seconds', 'dialtone_tftp_transfers_total',
  'dialtone_sip_registers_total', 'dialtone_sip_auth_failures_total', 'dialtone_sip_lockouts_total', 'dialtone_sip_binding_changes_total',
  'dialtone_ivr_calls_total', 'dialtone_activations_total', 'dialtone_pbx_sync_errors_total', 'dialtone_pbx_sync_lag_seconds',
];

for (const kind of databaseKinds()) {
  t.test(`GET /metrics on ${kind}`, async (t) => {
    const metricsPort = await freeTcpPort();
    // Nothing listens on the SMTP port, so the welcome email stays pending (retried later) whether or not the worker has tried it yet.
    const deadSmtp = await freeTcpPort();
    const ta = await startTestApp(t, kind, { env: { DIALTONE_METRICS_LISTEN: `127.0.0.1:${metricsPort}`, DIALTONE_SMTP_URL: `smtp://127.0.0.1:${deadSmtp}` } });
    await ta.app.listen();
    const { token: tenantToken } = await makeTenant(ta, 'metrics.example');

    t.equal((await ta.call('GET', '/metrics')).status, 401, 'no token');
    t.equal((await ta.call('GET', '/metrics', { token: tenantToken })).status, 403, 'a tenant administrator sees no figures of other tenants');

    const mac = '0015654aa937';
    const fetched = await ta.call('GET', `/prov/${mac}.cfg`, { headers: { 'user-agent': 'Yealink SIP-T46S 66.85.0.5 00:15:65:4a:a9:37' } });
    t.equal(fetched.status, 200);
    t.equal((await ta.call('GET', '/prov/no-such-name.txt')).status, 404);

    const res = await ta.call('GET', '/metrics', { token: ta.operatorToken });
    t.equal(res.status, 200);
    t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    for (const family of FAMILIES) t.match(res.raw, new RegExp(`^# TYPE ${family} `, 'm'), family);
    t.match(res.raw, 'dialtone_provisioning_fetches_total{vendor="yealink",protocol="http",result="ok"} 1');
    t.match(res.raw, 'dialtone_provisioning_fetches_total{vendor="none",protocol="http",result="not_found"} 1');
    t.match(res.raw, /dialtone_provisioning_fetch_seconds_count\{protocol="http"\} 2/);
    t.match(res.raw, 'dialtone_dependency_up{dependency="database"} 1');
    t.match(res.raw, 'dialtone_dependency_up{dependency="sip"} 1');
    // The welcome email is queued once the tenant's creation has been announced, which may finish after the API answered;
    // the worker's first attempt fails (no SMTP server) and leaves it pending for a retry.
    const settled = (text: string) => text.includes('dialtone_mail_queue{status="pending"} 1') && text.includes('dialtone_mail_send_failures_total{outcome="retry"} 1');
    let queued = res.raw;
    for (let i = 0; i < 50 && !settled(queued); i++) {
      await new Promise((r) => setTimeout(r, 100));
      queued = (await ta.call('GET', '/metrics', { token: ta.operatorToken })).raw;
    }
    t.match(queued, 'dialtone_mail_queue{status="pending"} 1', 'the tenant administrator\'s welcome email waits in the queue');
    t.match(queued, 'dialtone_mail_send_failures_total{outcome="retry"} 1', 'after one failed attempt, to be retried');
    t.notMatch(res.raw, new RegExp(mac, 'i'), 'no MAC in any label');
    t.notMatch(res.raw, /00:15:65|metrics\.example|admin\./i, 'no user, domain or address in any label');

    const own = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    t.equal(own.status, 200, 'the metrics listener needs no token');
    t.match(await own.text(), /^# TYPE dialtone_provisioning_fetches_total counter/m);
    t.equal((await fetch(`http://127.0.0.1:${metricsPort}/api/v1/users`)).status, 404, 'and serves nothing else');
    t.equal((await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { method: 'POST' })).status, 405);

    const ready = await ta.call('GET', '/readyz');
    t.same(ready.body, { status: 'ready', database: 'up', sip: 'up' });
  });
}

t.test('/readyz and dialtone_dependency_up report Redis while it is down, and its return', async (t) => {
  const port = await freeTcpPort();
  const startRedis = () => {
    const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    t.teardown(() => void p.kill('SIGKILL'));
    return p;
  };
  const waitFor = async (want: number, check: () => Promise<number>) => {
    for (let i = 0; i < 100; i++) {
      if ((await check()) === want) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`never reached ${want}`);
  };
  let redis = startRedis();
  const ta = await startTestApp(t, 'sqlite', { env: { DIALTONE_REDIS_URL: `redis://127.0.0.1:${port}/0` } });
  await ta.app.listen();
  await waitFor(200, async () => (await ta.call('GET', '/readyz')).status);
  t.same((await ta.call('GET', '/readyz')).body, { status: 'ready', database: 'up', redis: 'up', sip: 'up' });

  redis.kill('SIGKILL');
  await new Promise((r) => redis.once('exit', r));
  await waitFor(503, async () => (await ta.call('GET', '/readyz')).status);
  const down = await ta.call('GET', '/readyz');
  t.match(down.body, { status: 'unavailable', database: 'up', redis: /^down: /, sip: 'up' });
  t.match((await ta.call('GET', '/metrics', { token: ta.operatorToken })).raw, 'dialtone_dependency_up{dependency="redis"} 0');

  redis = startRedis();
  await waitFor(200, async () => (await ta.call('GET', '/readyz')).status);
  t.pass('ready again once Redis is back');
});
