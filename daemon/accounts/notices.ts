import type { Knex } from 'knex';
import type { ChangeFeed } from '../core/changes';
import type { Config } from '../config/options';
import { RefusedError } from '../core/errors';
import { now } from '../core/ids';
import type { Logger } from '../core/log';
import type { SecretBox } from '../crypto/secret-box';
import { extensionFromRow, userFromRow, type User } from '../admin/store/rows';
import { recordAudit } from '../audit/log';
import { enqueueMail, mailRow } from '../mail/queue';
import type { MailTemplates } from '../mail/templates';
import { issueLink, LINK_LIFETIME_MS, newLink } from './links';

/**
 * The device activation code of an extension, when its device is activated
 * by code rather than by MAC address; null when there is none. Provisioning
 * owns activation codes; without a provider the welcome email omits the line.
 */
export type ActivationCodeProvider = (extensionId: string) => Promise<string | null>;

export interface NoticeDeps {
  knex: Knex;
  secrets: SecretBox;
  config: Pick<Config, 'publicUrl' | 'registrationService'>;
  templates: MailTemplates;
  /** Called after a message is queued, so the mail worker sends it now rather than at its next poll. */
  queued: () => void;
  activationCode?: ActivationCodeProvider;
}

export const setPasswordUrl = (publicUrl: string, token: string) => `${publicUrl}/account/set-password?token=${encodeURIComponent(token)}`;
export const signInUrl = (publicUrl: string) => `${publicUrl}/account/sign-in`;

/** Emails a reset link: from an administrator's request or the forgot-password form. */
export async function sendResetLink(d: NoticeDeps, user: User, actor: string): Promise<void> {
  if (user.status !== 'active') throw new RefusedError('This profile is disabled: it cannot sign in, so no reset link is sent. Enable it first.');
  await d.knex.transaction(async (trx) => {
    const token = await issueLink(trx, user.id, 'reset');
    const body = d.templates.render('reset', {
      firstName: user.firstName, username: user.username, link: setPasswordUrl(d.config.publicUrl, token),
      linkValidMinutes: LINK_LIFETIME_MS.reset / 60_000, signInUrl: signInUrl(d.config.publicUrl),
    });
    await enqueueMail(trx, d.secrets, { tenantId: user.tenantId, to: user.email, purpose: 'reset', ...body });
  });
  await recordAudit(d.knex, { tenantId: user.tenantId, actor, kind: 'password_link', objectId: user.id, action: 'reset_sent' });
  d.queued();
}

export interface WelcomeFacts {
  user: User;
  tenantName: string;
  sipDomain: string;
  extension: { number: string; onlineAccess: boolean; activationCode: string | null } | null;
  hasPassword: boolean;
}

/**
 * The welcome message and, when it offers one, its set-password link, as rows
 * to insert: a password link unless online access is off on the extension,
 * "use your existing password" when the profile has one.
 */
export function welcomeRows(d: Pick<NoticeDeps, 'secrets' | 'config' | 'templates'>, f: WelcomeFacts, at = new Date()): { link: Record<string, unknown> | null; mail: Record<string, unknown>; mode: 'set' | 'existing' | 'none' } {
  const mode: 'set' | 'existing' | 'none' = f.hasPassword ? 'existing' : f.extension && !f.extension.onlineAccess ? 'none' : 'set';
  const link = mode === 'set' ? newLink(f.user.id, 'welcome', at) : null;
  const body = d.templates.render('welcome', {
    firstName: f.user.firstName, username: f.user.username, tenantName: f.tenantName, sipDomain: f.sipDomain,
    extension: f.extension ? { number: f.extension.number, activationCode: f.extension.activationCode } : null,
    isAdmin: f.user.isAdmin, registrationService: d.config.registrationService, password: mode, link: link ? setPasswordUrl(d.config.publicUrl, link.token) : null,
    linkValidDays: LINK_LIFETIME_MS.welcome / 86_400_000, signInUrl: signInUrl(d.config.publicUrl),
  });
  return { link: link?.row ?? null, mail: mailRow(d.secrets, { tenantId: f.user.tenantId, to: f.user.email, purpose: 'welcome', ...body }, at.toISOString()), mode };
}

/**
 * The seeds' welcome: sent once per profile, the first time it is given an
 * extension or administrator rights. Claiming `welcomed_at` in the same
 * transaction that queues the message makes a second trigger a no-op.
 */
export async function sendWelcome(d: NoticeDeps, userId: string, extensionId: string | null, actor: string): Promise<boolean> {
  const userRow = await d.knex('users').where('id', userId).first();
  if (!userRow || userRow.welcomed_at || userRow.status !== 'active' || userRow.kind !== 'person') return false;
  const user = userFromRow(userRow);
  const tenant = await d.knex('tenants').where('id', user.tenantId).first();
  const ext = extensionId ? extensionFromRow(await d.knex('extensions').where('id', extensionId).first()) : null;
  const activationCode = ext && d.activationCode ? await d.activationCode(ext.id) : null;
  const rows = welcomeRows(d, {
    user, tenantName: tenant.name, sipDomain: tenant.sip_domain, hasPassword: Boolean(userRow.password_hash),
    extension: ext ? { number: ext.number, onlineAccess: ext.settings.onlineAccess, activationCode } : null,
  });
  const sent = await d.knex.transaction(async (trx) => {
    const claimed = await trx('users').where('id', userId).whereNull('welcomed_at').update({ welcomed_at: now() });
    if (claimed !== 1) return false;
    if (rows.link) await trx('password_links').insert(rows.link);
    await trx('mail_queue').insert(rows.mail);
    return true;
  });
  if (!sent) return false;
  await recordAudit(d.knex, { tenantId: user.tenantId, actor, kind: 'password_link', objectId: userId, action: 'welcome_sent', detail: { passwordMode: rows.mode } });
  d.queued();
  return true;
}

/**
 * Watches committed changes for a profile's first extension or first
 * administrator rights (a new profile is never an administrator yet).
 */
export function welcomeOnChanges(d: NoticeDeps, changes: ChangeFeed, log: Logger): { stop(): void; idle(): Promise<void> } {
  const pending = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    const tracked = p.catch((err: unknown) => log.error({ err }, 'welcome email not queued')).finally(() => pending.delete(tracked));
    pending.add(tracked);
  };
  const stop = changes.subscribe((c) => {
    if (c.kind === 'extension' && (c.action === 'created' || c.action === 'reassigned')) {
      track((async () => {
        const ext = await d.knex('extensions').where('id', c.id).first('user_id');
        if (ext?.user_id) await sendWelcome(d, ext.user_id, c.id, c.actor);
      })());
    } else if (c.kind === 'tenant' && (c.action === 'created' || c.action === 'updated')) {
      // A new tenant's administrator, or a profile just made primary administrator.
      track((async () => {
        const tenant = await d.knex('tenants').where('id', c.id).first('primary_admin_user_id');
        if (tenant?.primary_admin_user_id) await sendWelcome(d, tenant.primary_admin_user_id, null, c.actor);
      })());
    } else if (c.kind === 'user' && (c.action === 'updated' || c.action === 'enabled')) {
      track((async () => {
        const user = await d.knex('users').where('id', c.id).first('is_admin');
        if (user && (user.is_admin === true || user.is_admin === 1)) await sendWelcome(d, c.id, null, c.actor);
      })());
    }
  });
  return {
    stop,
    async idle() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
}
