import type { Message } from 'sip';

/**
 * RFC 3261 §16.7 step 6: the answer a forked request gets when no branch
 * answered 2xx. A 6xx wins outright; otherwise the lowest class, and within
 * 4xx the answers the caller can act on (authentication, an unsupported
 * body or extension, an incomplete address) before the rest. Ties go to the
 * branch that answered first.
 */
const ACTIONABLE_4XX = [401, 407, 415, 420, 484];

function rank(status: number): number {
  if (status >= 600) return 0;
  const cls = Math.floor(status / 100);
  if (cls === 4 && ACTIONABLE_4XX.includes(status)) return 3.5;
  // Timeouts we made up rank below any answer a phone really gave.
  if (status === 408) return 4.9;
  return cls;
}

export function bestResponse(finals: Message[]): Message {
  let best = finals[0]!;
  for (const m of finals.slice(1)) if (rank(m.status ?? 500) < rank(best.status ?? 500)) best = m;
  return best;
}
