import path from 'node:path';
import net from 'node:net';
import type { Component, Runtime } from '../core/component';
import { auditChanges } from '../audit/log';
import { MailTemplates } from '../mail/templates';
import { outboxTransport, smtpTransport } from '../mail/transport';
import { MailWorker } from '../mail/worker';
import { type ActivationCodeProvider, type NoticeDeps, welcomeOnChanges } from './notices';
import { phoneReplacedOnChanges } from './phone-replaced';
import { pruneAccounts } from './prune';
import { revokeOnDisable } from './revoke';
import { RateLimiter } from './rate-limit';
import { accountApi, accountPages } from './routes';
import { bulkRoutes } from '../bulk/routes';
import { adoptRoutes } from '../adopt/routes';

export interface AccountsOptions {
  activationCode?: ActivationCodeProvider;
  /** How often the mail queue is polled for messages whose retry is due. */
  mailPollMs?: number;
}

export interface AccountsComponent extends Component {
  mail: MailWorker;
  notices: NoticeDeps;
  /** Resolves once every welcome email and audit entry triggered so far is written. */
  idle(): Promise<void>;
}

function senderFor(publicUrl: string): string {
  const host = new URL(publicUrl).hostname;
  return `dialtone@${net.isIP(host) || !host.includes('.') ? 'localhost' : host}`;
}

/**
 * People's side of the profiles: passwords they set themselves from emailed
 * links, sign-in, the welcome and reset emails with their queue, and the
 * audit log of every change.
 */
export function accountsComponent(rt: Runtime, opts: AccountsOptions = {}): AccountsComponent {
  const knex = rt.db.knex;
  const from = rt.config.mailFrom ?? senderFor(rt.config.publicUrl);
  const transport = rt.config.smtpUrl ? smtpTransport(rt.config.smtpUrl) : outboxTransport(path.join(rt.config.dataDir, 'outbox'));
  const mail = new MailWorker({ knex, secrets: rt.secrets, log: rt.log.child({ component: 'mail' }), transport, from, messageDomain: from.split('@')[1]!.replace(/>.*$/, '') }, opts.mailPollMs);
  const notices: NoticeDeps = {
    knex, secrets: rt.secrets, config: rt.config, templates: new MailTemplates(rt.config.mailTemplatesDir),
    queued: () => mail.kick(), ...(opts.activationCode ? { activationCode: opts.activationCode } : {}),
  };
  const limiter = new RateLimiter(knex);
  const welcome = welcomeOnChanges(notices, rt.changes, rt.log);
  const replaced = phoneReplacedOnChanges(notices, rt.changes, rt.log);
  const audit = auditChanges(knex, rt.changes, rt.log);
  const revoke = revokeOnDisable(knex, rt.changes, rt.log);
  let pruner: NodeJS.Timeout | null = null;
  const prune = () => void pruneAccounts(knex).catch((err: unknown) => rt.log.error({ err }, 'pruning sessions and links failed'));
  return {
    name: 'accounts',
    mail,
    notices,
    async http(app) {
      await app.register(accountPages(notices, limiter, rt.config.publicUrl.startsWith('https:')), { prefix: '/account' });
      await app.register(accountApi(notices, limiter), { prefix: '/api/v1' });
      await app.register(bulkRoutes(rt, notices), { prefix: '/api/v1' });
      await app.register(adoptRoutes(rt), { prefix: '/api/v1' });
    },
    async start() {
      rt.log.info({ via: transport.describe }, 'mail queue started');
      mail.start();
      prune();
      pruner = setInterval(prune, 3600_000);
      pruner.unref();
    },
    async idle() {
      await welcome.idle();
      await replaced.idle();
      await audit.idle();
      await revoke.idle();
    },
    async stop() {
      if (pruner) clearInterval(pruner);
      welcome.stop();
      replaced.stop();
      audit.stop();
      revoke.stop();
      await this.idle();
      await mail.stop();
    },
  };
}
