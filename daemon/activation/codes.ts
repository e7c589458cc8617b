import type { Knex } from 'knex';
import { NotFoundError } from '../core/errors';
import { newId, now } from '../core/ids';
import type { SecretBox } from '../crypto/secret-box';
import { sha256 } from '../crypto/random';
import { isUniqueViolation } from '../storage/errors';
import { findExtension } from '../admin/service/extensions';
import type { Scope } from '../admin/service/scope';
import { formatCode, generateCode, readCode } from './code';

export const CODE_LIFETIME_DAYS = 30;

export interface IssuedCode {
  code: string;
  formatted: string;
  expiresAt: string;
}

export interface Deps {
  knex: Knex;
  secrets: SecretBox;
}

/** A fresh code for the extension; an earlier unused one stops working, so only the latest email is valid. */
export async function issueCode(d: Deps, scope: Scope, extensionId: string): Promise<IssuedCode> {
  const ext = await findExtension(d.knex, scope, extensionId);
  const at = now();
  const expiresAt = new Date(Date.now() + CODE_LIFETIME_DAYS * 86400_000).toISOString();
  for (let attempt = 0; attempt < 5; attempt++) {
    const code = generateCode();
    try {
      await d.knex.transaction(async (trx) => {
        await trx('activation_codes').where('extension_id', ext.id).whereNull('used_at').whereNull('revoked_at').update({ revoked_at: at });
        await trx('activation_codes').insert({
          id: newId(), tenant_id: ext.tenantId, extension_id: ext.id, code_hash: sha256(code), code_sealed: d.secrets.seal(code),
          created_at: at, expires_at: expiresAt, used_at: null, revoked_at: null, device_id: null,
        });
      });
      return { code, formatted: formatCode(code), expiresAt };
    } catch (err) {
      // Two live codes with the same digits cannot both exist; draw again.
      if (!isUniqueViolation(err)) throw err;
    }
  }
  throw new Error('could not draw an unused activation code');
}

/** The live code of an extension, for the welcome email and the administrator's device report. */
export async function currentCode(knex: Knex, secrets: SecretBox, extensionId: string): Promise<IssuedCode | null> {
  const row = await knex('activation_codes')
    .where('extension_id', extensionId).whereNull('used_at').whereNull('revoked_at').where('expires_at', '>', now())
    .orderBy('created_at', 'desc').first('code_sealed', 'expires_at');
  if (!row) return null;
  const code = secrets.open(row.code_sealed);
  return { code, formatted: formatCode(code), expiresAt: row.expires_at };
}

export async function currentCodeFor(knex: Knex, secrets: SecretBox, scope: Scope, extensionId: string): Promise<IssuedCode> {
  await findExtension(knex, scope, extensionId);
  const code = await currentCode(knex, secrets, extensionId);
  if (!code) throw new NotFoundError('activation code');
  return code;
}

export type Redemption =
  | { ok: true; extensionId: string; tenantId: string }
  | { ok: false; reason: 'mistyped' | 'unknown' | 'expired' };

/**
 * Spends a code keyed in from a phone. The update that marks it used is the
 * check, so two phones keying the same code at once cannot both win.
 */
export async function redeemCode(knex: Knex, entered: string, deviceId: string): Promise<Redemption> {
  const read = readCode(entered);
  if (!read.ok) return { ok: false, reason: 'mistyped' };
  const row = await knex('activation_codes').where('code_hash', sha256(read.code)).whereNull('used_at').whereNull('revoked_at').first();
  if (!row) return { ok: false, reason: 'unknown' };
  if (row.expires_at <= now()) return { ok: false, reason: 'expired' };
  const won = await knex('activation_codes').where('id', row.id).whereNull('used_at').update({ used_at: now(), device_id: deviceId });
  if (won !== 1) return { ok: false, reason: 'unknown' };
  return { ok: true, extensionId: row.extension_id, tenantId: row.tenant_id };
}

