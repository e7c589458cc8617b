import type { Redemption } from './codes';

/**
 * The registration service's conversation, as a pure state machine: what
 * the caller hears, when digits are taken to the store, and when the call
 * ends. Three wrong codes end the call, so a phone cannot sweep the code
 * space from one call.
 */
export const MAX_ATTEMPTS = 3;

/** Every recording the conversation uses (scripts/make-prompts.sh makes them). */
export const PROMPT_NAMES = [
  'greeting', 'enter-code', 'code-not-valid', 'code-expired', 'goodbye', 'thank-you', 'system-busy', 'silence',
  'digit-0', 'digit-1', 'digit-2', 'digit-3', 'digit-4', 'digit-5', 'digit-6', 'digit-7', 'digit-8', 'digit-9',
] as const;
export type PromptName = (typeof PROMPT_NAMES)[number];

export type EntryState = { attempts: number; done: boolean };

/** What the call does next: play these, then listen for digits or hang up. */
export interface Step {
  play: PromptName[];
  then: 'listen' | 'hangup';
  /** For the device timeline (never the digits). */
  outcome: 'answered' | 'activated' | 'refused' | 'goodbye' | 'locked-out' | 'system-busy';
  reason?: string;
  extensionId?: string;
}

export const initialEntry = (): EntryState => ({ attempts: 0, done: false });

/** The first thing a caller hears; a phone locked out for wrong codes hears goodbye. */
export function opening(lockedOut: boolean): [EntryState, Step] {
  if (lockedOut) return [{ attempts: 0, done: true }, { play: ['goodbye'], then: 'hangup', outcome: 'locked-out' }];
  return [initialEntry(), { play: ['greeting', 'enter-code'], then: 'listen', outcome: 'answered' }];
}

/** A complete entry of digits was keyed: ask for redemption unless the call is over. */
export function onDigits(state: EntryState, digits: string): { do: 'redeem'; code: string } | { do: 'wait' } {
  if (state.done) return { do: 'wait' };
  return { do: 'redeem', code: digits };
}

const digitPrompts = (code: string): PromptName[] => [...code].map((d) => `digit-${d}` as PromptName);

export function onRedemption(state: EntryState, code: string, result: Redemption): [EntryState, Step] {
  const attempts = state.attempts + 1;
  if (result.ok) {
    return [{ attempts, done: true }, { play: [...digitPrompts(code), 'thank-you'], then: 'hangup', outcome: 'activated', extensionId: result.extensionId }];
  }
  const told: PromptName = result.reason === 'expired' ? 'code-expired' : 'code-not-valid';
  if (attempts >= MAX_ATTEMPTS) return [{ attempts, done: true }, { play: [told, 'goodbye'], then: 'hangup', outcome: 'refused', reason: result.reason }];
  return [{ attempts, done: false }, { play: [told, 'enter-code'], then: 'listen', outcome: 'refused', reason: result.reason }];
}

/** The store failed: the caller is told to try later rather than left in silence. */
export function onFailure(state: EntryState): [EntryState, Step] {
  return [{ ...state, done: true }, { play: ['system-busy'], then: 'hangup', outcome: 'system-busy' }];
}
