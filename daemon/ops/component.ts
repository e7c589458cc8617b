import http from 'node:http';
import { type RedisClient, redisClient } from '../storage/redis-client';
import type { Component, Runtime } from '../core/component';
import { bearerAuth, requireOperator } from '../http/auth';

/**
 * What an operator watches: GET /metrics (operator token; also without one
 * on DIALTONE_METRICS_LISTEN), the database and Redis checks behind /readyz,
 * and the metrics read from the database when scraped.
 */
export function opsComponent(rt: Runtime): Component {
  const { metrics, health } = rt;
  health.add('database', async () => {
    await rt.db.knex.raw('select 1');
  });
  let redis: RedisClient | null = null;
  if (rt.config.redisUrl) {
    // A connection of its own: the registrar's may be busy with a batch, and a ping must not wait behind it.
    const client = redisClient(rt.config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000 });
    client.on('error', () => {});
    redis = client;
    health.add('redis', async () => {
      if (client.status === 'wait' || client.status === 'end') await client.connect().catch(() => {});
      await client.ping();
    });
  }
  metrics.gauge('dialtone_dependency_up', 'Whether each dependency (database, redis, sip) answers: 1 up, 0 down, as /readyz reports.', ['dependency'], async () =>
    Object.entries(await health.report()).map(([name, d]) => [[name], d.up ? 1 : 0] as const));
  metrics.gauge('dialtone_mail_queue', 'Emails in the outgoing queue by status (pending: waiting to be sent or retried; failed: given up after every retry).', ['status'], async () => {
    const rows = await rt.db.knex('mail_queue').select('status').count({ n: '*' }).whereNot('status', 'sent').groupBy('status') as { status: string; n: number | string }[];
    const by = new Map(rows.map((r) => [r.status, Number(r.n)]));
    return ['pending', 'failed'].map((status) => [[status], by.get(status) ?? 0] as const);
  });

  let listener: http.Server | null = null;
  const answer = async (res: http.ServerResponse) => {
    try {
      const text = await metrics.text();
      res.writeHead(200, { 'content-type': metrics.contentType }).end(text);
    } catch (err) {
      rt.log.error({ err }, 'metrics: scrape failed');
      res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n');
    }
  };
  return {
    name: 'ops',
    async http(app) {
      await app.register(async (scoped) => {
        scoped.addHook('preHandler', bearerAuth(rt.db.knex));
        scoped.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics (operator token)' } }, async (req, reply) => {
          requireOperator(req);
          reply.header('content-type', metrics.contentType);
          return metrics.text();
        });
      });
    },
    async start() {
      const where = rt.config.metricsListen;
      if (!where) return;
      const server = http.createServer((req, res) => {
        if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
        if ((req.url ?? '').split('?')[0] !== '/metrics') return void res.writeHead(404, { 'content-type': 'text/plain' }).end('only /metrics here\n');
        void answer(res);
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(where.port, where.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      listener = server;
      rt.log.info({ host: where.host, port: where.port }, 'metrics listening (GET /metrics, no token)');
    },
    async stop() {
      const server = listener;
      listener = null;
      if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
      if (redis?.status === 'ready') await redis.quit().catch(() => {});
      else redis?.disconnect();
    },
  };
}
