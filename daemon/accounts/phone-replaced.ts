import type { ChangeFeed } from '../core/changes';
import type { Logger } from '../core/log';
import { enqueueMail } from '../mail/queue';
import { type Mac, macColons } from '../provisioning/mac';
import type { NoticeDeps } from './notices';

/**
 * Emails a tenant's primary administrator when a phone activated with a code
 * took an extension from the phone that had it: whoever holds a code can move
 * an extension, and the person whose desk phone went quiet should not be the
 * first to notice. Replacements made through the API were the administrator's own choice.
 */
export function phoneReplacedOnChanges(d: NoticeDeps, changes: ChangeFeed, log: Logger): { stop(): void; idle(): Promise<void> } {
  const pending = new Set<Promise<unknown>>();
  const stop = changes.subscribe((c) => {
    if (c.kind !== 'device' || c.action !== 'replaced' || !c.actor.startsWith('device:')) return;
    const p: Promise<unknown> = notify(d, c.id, c.actor.slice('device:'.length))
      .catch((err: unknown) => log.error({ err, device: c.id }, 'email about a replaced phone not queued'))
      .finally(() => pending.delete(p));
    pending.add(p);
  });
  return {
    stop,
    async idle() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
}

async function notify(d: NoticeDeps, previousId: string, nextId: string): Promise<void> {
  const previous = await d.knex('devices').where('id', previousId).first('mac', 'model');
  const next = await d.knex('devices').where('id', nextId).first('mac', 'model', 'extension_id', 'tenant_id');
  if (!previous || !next?.extension_id) return;
  const extension = await d.knex('extensions').where('id', next.extension_id).first('number');
  const tenant = await d.knex('tenants').where('id', next.tenant_id).first('name', 'primary_admin_user_id');
  const admin = tenant?.primary_admin_user_id ? await d.knex('users').where('id', tenant.primary_admin_user_id).first('first_name', 'email') : null;
  if (!extension || !admin) return;
  const body = d.templates.render('replaced', {
    firstName: admin.first_name, tenantName: tenant.name, extension: extension.number,
    previous: { mac: macColons(previous.mac as Mac), model: previous.model ?? null },
    next: { mac: macColons(next.mac as Mac), model: next.model ?? null },
  });
  await enqueueMail(d.knex, d.secrets, { tenantId: next.tenant_id, to: admin.email, purpose: 'phone_replaced', ...body });
  d.queued();
}
