import type { Redemption } from './codes';

/**
 * The registration service's conversation, as a pure state machine: digits
 * come in, the service asks the store to redeem a code, and decides what the
 * call does next. Three wrong codes end the call, so a phone cannot sweep the
 * code space from one call.
 */
export const MAX_ATTEMPTS = 3;

export type EntryState = { attempts: number; done: boolean };

export type EntryAction =
  | { do: 'redeem'; code: string }
  | { do: 'wait' }
  | { do: 'hangup'; outcome: 'activated' | 'refused'; extensionId?: string };

export const initialEntry = (): EntryState => ({ attempts: 0, done: false });

/** A complete entry of digits was keyed: ask for redemption unless the call is over. */
export function onDigits(state: EntryState, digits: string): EntryAction {
  if (state.done) return { do: 'wait' };
  return { do: 'redeem', code: digits };
}

export function onRedemption(state: EntryState, result: Redemption): [EntryState, EntryAction] {
  if (result.ok) return [{ attempts: state.attempts + 1, done: true }, { do: 'hangup', outcome: 'activated', extensionId: result.extensionId }];
  const attempts = state.attempts + 1;
  if (attempts >= MAX_ATTEMPTS) return [{ attempts, done: true }, { do: 'hangup', outcome: 'refused' }];
  return [{ attempts, done: false }, { do: 'wait' }];
}
