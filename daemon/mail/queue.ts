import type { Knex } from 'knex';
import { newId, now } from '../core/ids';
import type { SecretBox } from '../crypto/secret-box';

export interface OutgoingMail {
  tenantId: string | null;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** What the message is for (welcome, reset): kept after sending, unlike the body. */
  purpose: string;
}

export interface QueuedMail extends OutgoingMail {
  id: string;
  attempts: number;
}

/** After this many failures a message is marked failed and stays in the table for an operator to see. */
export const MAX_ATTEMPTS = 12;

/** 30 s, 1 min, 2 min … doubling up to one hour: about a day of retries in all. */
export function backoffMs(attempts: number): number {
  return Math.min(30_000 * 2 ** Math.max(0, attempts - 1), 3600_000);
}

/** The queue row of a message, body sealed; for callers that insert many at once. */
export function mailRow(secrets: SecretBox, mail: OutgoingMail, at = now()): Record<string, unknown> {
  return {
    id: newId(), tenant_id: mail.tenantId, recipient: mail.to, subject: mail.subject.slice(0, 255), purpose: mail.purpose,
    message_sealed: secrets.seal(JSON.stringify({ text: mail.text, html: mail.html })),
    status: 'pending', attempts: 0, next_attempt_at: at, last_error: null, created_at: at, sent_at: null,
  };
}

export async function enqueueMail(knex: Knex, secrets: SecretBox, mail: OutgoingMail): Promise<string> {
  const row = mailRow(secrets, mail);
  await knex('mail_queue').insert(row);
  return row.id as string;
}

/** How long a claimed message is left to its sender before another pass may try it (the sender died). */
export const CLAIM_MS = 5 * 60_000;

/**
 * Claims up to `limit` due messages: each is pushed CLAIM_MS into the future
 * by a conditional update, so two daemons on one database never send the
 * same message, and one that crashes mid-send leaves it to be retried.
 */
export async function claimDueMail(knex: Knex, secrets: SecretBox, at: Date, limit = 20): Promise<QueuedMail[]> {
  const rows = await knex('mail_queue').where('status', 'pending').where('next_attempt_at', '<=', at.toISOString()).orderBy('next_attempt_at').orderBy('id').limit(limit);
  const claimed: QueuedMail[] = [];
  for (const r of rows) {
    const n = await knex('mail_queue').where({ id: r.id, status: 'pending', next_attempt_at: r.next_attempt_at })
      .update({ next_attempt_at: new Date(at.getTime() + CLAIM_MS).toISOString() });
    if (n !== 1) continue;
    const body = JSON.parse(secrets.open(r.message_sealed)) as { text: string; html: string };
    claimed.push({ id: r.id, tenantId: r.tenant_id, to: r.recipient, subject: r.subject, purpose: r.purpose, attempts: Number(r.attempts), ...body });
  }
  return claimed;
}

/** A sent message keeps its envelope for the record; the body, which may hold a link, is dropped. */
export async function markSent(knex: Knex, id: string): Promise<void> {
  await knex('mail_queue').where('id', id).update({ status: 'sent', sent_at: now(), message_sealed: null, last_error: null });
}

export async function markFailedAttempt(knex: Knex, mail: QueuedMail, error: string, at: Date): Promise<'retry' | 'failed'> {
  const attempts = mail.attempts + 1;
  const failed = attempts >= MAX_ATTEMPTS;
  await knex('mail_queue').where('id', mail.id).update({
    attempts, status: failed ? 'failed' : 'pending', last_error: error.slice(0, 500),
    next_attempt_at: new Date(at.getTime() + backoffMs(attempts)).toISOString(),
  });
  return failed ? 'failed' : 'retry';
}

export async function mailStatus(knex: Knex, id: string): Promise<{ status: string; attempts: number; lastError: string | null; nextAttemptAt: string } | null> {
  const r = await knex('mail_queue').where('id', id).first();
  return r ? { status: r.status, attempts: Number(r.attempts), lastError: r.last_error ?? null, nextAttemptAt: r.next_attempt_at } : null;
}
