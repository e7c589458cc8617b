import type { Runtime } from '../core/component';
import type { ActivationCodeProvider } from '../accounts/notices';
import { OPERATOR } from '../admin/service/scope';
import { currentCode, issueCode } from './codes';

/**
 * The welcome email's activation code, in the grouping a person keys in: the
 * extension's live code, or a fresh one when it has none, since the email is
 * how the user learns it (the seeds' "activation code from the welcome email").
 */
export function activationCodeOf(rt: Pick<Runtime, 'db' | 'secrets'>): ActivationCodeProvider {
  return async (extensionId) => {
    const live = await currentCode(rt.db.knex, rt.secrets, extensionId);
    return (live ?? await issueCode({ knex: rt.db.knex, secrets: rt.secrets }, OPERATOR, extensionId)).formatted;
  };
}
