import type { Knex } from 'knex';
import type { ChangeFeed } from '../core/changes';
import { ValidationError } from '../core/errors';
import { newId, now } from '../core/ids';
import { validateNewProfile } from '../admin/domain/profile';
import type { ExtensionSettings } from '../admin/domain/extension';
import type { Scope } from '../admin/service/scope';
import { userRow } from '../admin/service/users';
import { fromJsonColumn } from '../storage/json';
import { recordAudit } from '../audit/log';
import { type Orphan, type PlannedProfile, planAdoption } from './plan';

export interface AdoptionReport {
  dryRun: boolean;
  created: (PlannedProfile & { userId: string | null })[];
  /** Extensions left alone because they are marked unassigned. */
  skippedUnassigned: string[];
  needsCleanUp: number;
}

/**
 * Creates profiles for a tenant's extensions that have none, never for one
 * marked unassigned. Like the seeds' August migration it is invisible to
 * users: no welcome email goes out (an administrator sends reset links once
 * the profiles are cleaned up).
 */
export async function adoptExtensions(knex: Knex, changes: ChangeFeed | null, scope: Scope, tenantId: string, dryRun: boolean): Promise<AdoptionReport> {
  const tenant = await knex('tenants').where('id', tenantId).first();
  const admin = await knex('users').where('id', tenant.primary_admin_user_id).first('email');
  const rows = await knex('extensions').where('tenant_id', tenantId).whereNull('user_id').orderBy('number');
  const skipped = rows.filter((r) => r.unassigned === true || r.unassigned === 1).map((r) => r.number as string);
  const orphans: Orphan[] = rows.filter((r) => !(r.unassigned === true || r.unassigned === 1)).map((r) => {
    const s = fromJsonColumn<Partial<ExtensionSettings>>(r.settings, {});
    return { id: r.id, number: r.number, callerIdName: s.callerId?.name ?? null, voicemailEmail: s.voicemail?.email ?? null };
  });
  const emails = (await knex('users').where('tenant_id', tenantId).select('email')).map((u) => String(u.email).toLowerCase());
  const plan = planAdoption(orphans, {
    companyName: tenant.name, primaryAdminEmail: admin?.email ?? '',
    takenUsernames: new Set(), existingEmails: new Set(emails),
  });
  // Usernames are unique across tenants: ask the database about exactly the ones planned, then plan again around those.
  const wanted = plan.map((p) => p.username.toLowerCase());
  const taken = wanted.length === 0 ? [] : (await knex('users').whereIn('username_key', wanted).select('username_key')).map((u) => u.username_key as string);
  const final = taken.length === 0 ? plan : planAdoption(orphans, { companyName: tenant.name, primaryAdminEmail: admin?.email ?? '', takenUsernames: new Set(taken), existingEmails: new Set(emails) });
  for (const p of final) {
    try {
      validateNewProfile({ firstName: p.firstName, lastName: p.lastName, email: p.email, username: p.username });
    } catch (err) {
      if (err instanceof ValidationError) p.cleanUp.push(`cannot be created: ${err.message}`);
      else throw err;
    }
  }
  const creatable = final.filter((p) => !p.cleanUp.some((c) => c.startsWith('cannot be created')));
  const report: AdoptionReport = {
    dryRun, skippedUnassigned: skipped, needsCleanUp: final.filter((p) => p.cleanUp.length > 0).length,
    created: final.map((p) => ({ ...p, userId: null })),
  };
  if (dryRun) return report;
  const at = now();
  const published: { userId: string; extensionIds: string[] }[] = [];
  await knex.transaction(async (trx) => {
    for (const p of creatable) {
      const fields = validateNewProfile({ firstName: p.firstName, lastName: p.lastName, email: p.email, username: p.username });
      const userId = newId();
      await trx('users').insert({ ...userRow(fields), id: userId, tenant_id: tenantId, kind: 'person', status: 'active', is_admin: false, welcomed_at: at, created_at: at, updated_at: at });
      for (const extId of p.extensionIds) {
        const n = await trx('extensions').where({ id: extId }).whereNull('user_id').update({ user_id: userId, updated_at: at });
        if (n === 1) await trx('extension_assignments').insert({ id: newId(), extension_id: extId, user_id: userId, previous_user_id: null, reason: 'adopted', at });
      }
      report.created.find((c) => c.extensionIds[0] === p.extensionIds[0])!.userId = userId;
      published.push({ userId, extensionIds: p.extensionIds });
    }
    await recordAudit(trx, { tenantId, actor: scope.actor, kind: 'adoption', objectId: tenantId, action: 'created', detail: { profiles: creatable.length, needsCleanUp: report.needsCleanUp } });
  });
  for (const p of published) {
    changes?.publish({ kind: 'user', id: p.userId, tenantId, action: 'created', actor: scope.actor });
    for (const e of p.extensionIds) changes?.publish({ kind: 'extension', id: e, tenantId, action: 'reassigned', actor: scope.actor });
  }
  return report;
}
