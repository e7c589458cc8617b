import t from 'tap';
import { databaseKinds } from '../helpers/databases';
import { startTestApp } from '../helpers/app';
import { closedPort, smtp } from '../helpers/smtp';
import { createLogger } from '../../daemon/core/log';
import { backoffMs, enqueueMail, mailStatus, MAX_ATTEMPTS } from '../../daemon/mail/queue';
import { smtpTransport } from '../../daemon/mail/transport';
import { MailWorker } from '../../daemon/mail/worker';

t.test('backoff doubles from 30 seconds up to an hour', async (t) => {
  t.same([1, 2, 3, 4].map(backoffMs), [30_000, 60_000, 120_000, 240_000]);
  t.equal(backoffMs(30), 3600_000);
  t.ok(MAX_ATTEMPTS > 5);
});

const message = (to: string) => ({ tenantId: null, to, subject: 'Hello', text: 'plain part', html: '<p>html part</p>', purpose: 'test' });

for (const kind of databaseKinds()) {
  t.test(`SMTP delivery on ${kind}`, async (t) => {
    const ta = await startTestApp(t, kind);
    const { knex } = ta.app.runtime.db;
    const secrets = ta.app.runtime.secrets;
    const log = createLogger('silent');
    const worker = (port: number) => new MailWorker({ knex, secrets, log, transport: smtpTransport(`smtp://127.0.0.1:${port}`), from: 'dialtone@localhost', messageDomain: 'localhost' });

    t.test('a working server receives the message with both parts', async (t) => {
      const server = await smtp(t);
      const id = await enqueueMail(knex, secrets, message('ada@example.com'));
      const w = worker(server.port);
      await w.drain();
      await w.stop();
      t.equal(server.received.length, 1);
      t.same(server.received[0]!.to, ['ada@example.com']);
      t.match(server.received[0]!.data, /plain part/);
      t.match(server.received[0]!.data, /text\/html/);
      t.match(await mailStatus(knex, id), { status: 'sent', attempts: 0 });
      const row = await knex('mail_queue').where('id', id).first();
      t.equal(row.message_sealed, null, 'the body is dropped once sent');
    });

    t.test('a refusing server: the message waits its backoff and goes once accepted', async (t) => {
      const server = await smtp(t, { refuse: true });
      const id = await enqueueMail(knex, secrets, message('bob@example.com'));
      const w = worker(server.port);
      const t0 = new Date();
      await w.drain(() => t0);
      const after = await mailStatus(knex, id);
      t.match(after, { status: 'pending', attempts: 1, lastError: /451/ });
      t.equal(Date.parse(after!.nextAttemptAt) - t0.getTime(), backoffMs(1));
      await w.drain(() => t0);
      t.equal((await mailStatus(knex, id))!.attempts, 1, 'not retried before its time');
      server.setRefuse(false);
      await w.drain(() => new Date(t0.getTime() + backoffMs(1)));
      await w.stop();
      t.match(await mailStatus(knex, id), { status: 'sent' });
      t.equal(server.received.length, 1);
    });

    t.test('a server that is down: retried, and delivered by a later process', async (t) => {
      const id = await enqueueMail(knex, secrets, message('cy@example.com'));
      const down = worker(await closedPort());
      const t0 = new Date();
      await down.drain(() => t0);
      await down.stop();
      t.match(await mailStatus(knex, id), { status: 'pending', attempts: 1, lastError: /ECONNREFUSED/ });
      const server = await smtp(t);
      const restarted = worker(server.port);
      await restarted.drain(() => new Date(t0.getTime() + backoffMs(1)));
      await restarted.stop();
      t.match(await mailStatus(knex, id), { status: 'sent' });
      t.same(server.received.map((r) => r.to), [['cy@example.com']]);
    });

    t.test('two daemons on one database send each message once', async (t) => {
      const server = await smtp(t);
      for (let i = 0; i < 8; i++) await enqueueMail(knex, secrets, message(`many${i}@example.com`));
      const a = worker(server.port);
      const b = worker(server.port);
      await Promise.all([a.drain(), b.drain()]);
      await a.stop();
      await b.stop();
      t.same(server.received.map((r) => r.to[0]).sort(), Array.from({ length: 8 }, (_x, i) => `many${i}@example.com`).sort());
    });

    t.test('after the last attempt the message is marked failed, not dropped', async (t) => {
      const id = await enqueueMail(knex, secrets, message('dee@example.com'));
      await knex('mail_queue').where('id', id).update({ attempts: MAX_ATTEMPTS - 1 });
      const w = worker(await closedPort());
      await w.drain();
      await w.stop();
      t.match(await mailStatus(knex, id), { status: 'failed', attempts: MAX_ATTEMPTS });
      t.ok((await knex('mail_queue').where('id', id).first()).message_sealed, 'kept for an operator to retry');
    });
  });
}
