import type { Knex } from 'knex';
import { sha256 } from '../../crypto/random';
import { now } from '../../core/ids';
import type { SecretBox } from '../../crypto/secret-box';
import type { DialtoneEdge } from '../edge';
import type { PbxLine } from '../line';
import { pinChangedOnPhone, realtimeRows } from './rows';

export interface SyncOutcome {
  endpointId: string;
  /** Set when the PIN in Asterisk was changed from the phone and dialtone adopted it. */
  adoptedPin: boolean;
}

/**
 * Writes one extension into the Asterisk realtime database, in one
 * transaction there, and records what it wrote in dialtone's database.
 */
export async function writeLine(asterisk: Knex, dialtone: Knex, secrets: SecretBox, line: PbxLine, edge: DialtoneEdge): Promise<SyncOutcome> {
  const state = await dialtone('pbx_asterisk_state').where('extension_id', line.extensionId).first();
  let rows = realtimeRows(line, edge);
  let adoptedPin = false;
  await asterisk.transaction(async (trx) => {
    if (rows.voicemail && state?.vm_context) {
      const current = await trx('voicemail').where({ context: state.vm_context, mailbox: state.vm_mailbox }).orderBy('uniqueid').first('password');
      const changed = pinChangedOnPhone(current?.password ?? null, state.pin_hash ?? null, sha256);
      if (changed) {
        await dialtone('extensions').where('id', line.extensionId).update({ voicemail_pin_sealed: secrets.seal(changed), updated_at: now() });
        line = { ...line, voicemailPin: changed };
        rows = realtimeRows(line, edge);
        adoptedPin = true;
      }
    }
    const id = rows.endpoint.id as string;
    if (state && state.endpoint_id !== id) {
      for (const table of ['ps_endpoints', 'ps_auths', 'ps_aors']) await trx(table).where('id', state.endpoint_id).delete();
    }
    await trx('ps_endpoints').insert(rows.endpoint).onConflict('id').merge();
    await trx('ps_aors').insert(rows.aor).onConflict('id').merge();
    // Phones authenticated to Asterisk before dialtone became their edge proxy; that digest must not linger.
    await trx('ps_auths').where('id', id).delete();

    const vm = rows.voicemail;
    if (state?.vm_context && (!vm || state.vm_context !== vm.context || state.vm_mailbox !== vm.mailbox)) {
      await trx('voicemail').where({ context: state.vm_context, mailbox: state.vm_mailbox }).delete();
    }
    if (vm) {
      // No unique key on (context, mailbox): keep the oldest row, update it, and drop duplicates.
      const existing = await trx('voicemail').where({ context: vm.context, mailbox: vm.mailbox }).orderBy('uniqueid').select('uniqueid');
      if (existing.length === 0) {
        await trx('voicemail').insert(vm);
      } else {
        await trx('voicemail').where('uniqueid', existing[0].uniqueid).update(vm);
        const extra = existing.slice(1).map((r: { uniqueid: number }) => r.uniqueid);
        if (extra.length > 0) await trx('voicemail').whereIn('uniqueid', extra).delete();
      }
    }
  });
  const record = {
    endpoint_id: rows.endpoint.id as string,
    vm_context: rows.voicemail?.context ?? null,
    vm_mailbox: rows.voicemail?.mailbox ?? null,
    pin_hash: rows.voicemail ? sha256(rows.voicemail.password as string) : null,
    synced_at: now(),
  };
  if (state) await dialtone('pbx_asterisk_state').where('extension_id', line.extensionId).update(record);
  else await dialtone('pbx_asterisk_state').insert({ extension_id: line.extensionId, ...record });
  return { endpointId: record.endpoint_id, adoptedPin };
}
