import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { buildApp, type App } from '../../daemon/app';
import { loadConfig } from '../../daemon/config/load';
import type { ComponentFactory } from '../../daemon/core/component';
import { createLogger, type Logger } from '../../daemon/core/log';
import { createToken } from '../../daemon/admin/service/tokens';
import { freshDatabase } from './databases';
import { freeUdpPort } from './ports';

export interface TestApp {
  app: App;
  operatorToken: string;
  dataDir: string;
  /** fastify's inject with JSON in and out, and a bearer token when given. */
  call(method: string, url: string, opts?: { token?: string; body?: unknown; headers?: Record<string, string>; payload?: string | Buffer }): Promise<{ status: number; body: any; headers: Record<string, unknown>; raw: string }>;
}

/** A daemon on a fresh database of the given kind, with nothing listening unless the test calls app.listen(). */
export async function startTestApp(t: Test, kind: 'sqlite' | 'mysql', opts: { env?: Record<string, string>; components?: ComponentFactory[]; log?: Logger } = {}): Promise<TestApp> {
  const db = await freshDatabase(kind);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-data-'));
  const config = loadConfig({
    DIALTONE_DATA_DIR: dataDir, DIALTONE_DB_URL: db.url, DIALTONE_HTTP_HOST: '127.0.0.1', DIALTONE_HTTP_PORT: '1',
    DIALTONE_SECRET_KEY: '0'.repeat(63) + '1', DIALTONE_LOG_LEVEL: 'silent', DIALTONE_TFTP_HOST: '127.0.0.1',
    DIALTONE_TFTP_PORT: String(await freeUdpPort()), DIALTONE_SIP_HOST: '127.0.0.1', ...opts.env,
  });
  config.httpPort = 0;
  // Tests run side by side: every listener takes a free port, never the SIP defaults.
  config.sipPort = 0;
  config.sipWsPort = 0;
  const app = await buildApp(config, { log: opts.log ?? createLogger('silent'), ...(opts.components ? { components: opts.components } : {}) });
  t.teardown(async () => {
    await app.close();
    await db.dispose();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const { token: operatorToken } = await createToken(app.runtime.db.knex, { tenantId: null, label: 'test operator' });
  return {
    app, operatorToken, dataDir,
    async call(method, url, o = {}) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      let payload: string | Buffer | undefined = o.payload;
      if (o.body !== undefined) {
        headers['content-type'] ??= 'application/json';
        payload = JSON.stringify(o.body);
      }
      const res = await app.http.inject({ method: method as 'GET', url, headers, ...(payload !== undefined ? { payload } : {}) });
      let body: unknown = res.body;
      try {
        body = JSON.parse(res.body);
      } catch {
        // Not JSON: the test reads raw.
      }
      return { status: res.statusCode, body, headers: res.headers, raw: res.body };
    },
  };
}

/** A tenant with its primary administrator and that administrator's token. */
export async function makeTenant(ta: TestApp, domain: string, adminEmail = `admin@${domain}`) {
  const res = await ta.call('POST', '/api/v1/tenants', {
    token: ta.operatorToken,
    body: { name: domain, sipDomain: domain, admin: { firstName: 'Prime', lastName: 'Admin', email: adminEmail, username: `admin.${domain}`.slice(0, 30) } },
  });
  if (res.status !== 201) throw new Error(`tenant: ${res.status} ${res.raw}`);
  const { token } = await createToken(ta.app.runtime.db.knex, { tenantId: res.body.tenant.id, userId: res.body.admin.id, label: 'test admin' });
  return { tenant: res.body.tenant, admin: res.body.admin, token };
}
