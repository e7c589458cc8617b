import type { Knex } from 'knex';
import type { Logger } from '../core/log';
import type { SecretBox } from '../crypto/secret-box';
import { claimDueMail, markFailedAttempt, markSent } from './queue';
import type { MailTransport } from './transport';

/**
 * Sends what is due from the queue, one message at a time. A failed message
 * waits its backoff while the rest go on; the queue is in the database, so a
 * restart resumes where the last process stopped.
 */
export class MailWorker {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  /** Sending attempts that failed, by what followed (retry later, or failed for good), for the metrics. */
  readonly sendFailures = { retry: 0, failed: 0 };

  constructor(
    private readonly deps: { knex: Knex; secrets: SecretBox; log: Logger; transport: MailTransport; from: string; messageDomain: string },
    private readonly pollMs = 5000,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.kick(), this.pollMs);
    this.timer.unref();
    this.kick();
  }

  /** Runs a pass soon: after an enqueue, so mail does not wait for the next poll. */
  kick(): void {
    void this.drain().catch((err: unknown) => this.deps.log.error({ err }, 'mail queue pass failed'));
  }

  /** One full pass over what is due now; concurrent callers share the pass in flight and one more after it. */
  async drain(at?: () => Date): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.pass(at ?? (() => new Date()));
      } while (this.again);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async pass(clock: () => Date): Promise<void> {
    const { knex, secrets, log, transport } = this.deps;
    for (;;) {
      const batch = await claimDueMail(knex, secrets, clock());
      if (batch.length === 0) return;
      for (const mail of batch) {
        try {
          await transport.send({ from: this.deps.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html, messageId: `${mail.id}@${this.deps.messageDomain}` });
          await markSent(knex, mail.id);
          log.info({ mailId: mail.id, purpose: mail.purpose, via: transport.describe }, 'mail sent');
        } catch (err) {
          const reason = (err as Error).message ?? String(err);
          const outcome = await markFailedAttempt(knex, mail, reason, clock());
          this.sendFailures[outcome]++;
          log.warn({ mailId: mail.id, purpose: mail.purpose, attempt: mail.attempts + 1, outcome, reason }, 'mail not sent');
        }
      }
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
    this.deps.transport.close();
  }
}
