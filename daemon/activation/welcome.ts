import type { Runtime } from '../core/component';
import type { ActivationCodeProvider } from '../accounts/notices';
import { currentCode } from './codes';

/** The welcome email's activation code: the extension's live code, in the grouping a person keys in. */
export function activationCodeOf(rt: Pick<Runtime, 'db' | 'secrets'>): ActivationCodeProvider {
  return async (extensionId) => (await currentCode(rt.db.knex, rt.secrets, extensionId))?.formatted ?? null;
}
