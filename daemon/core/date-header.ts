let text = '';
let validUntil = 0;

/**
 * The IMF-fixdate of `now`, the form of the Date header in HTTP (RFC 9110)
 * and in SIP (RFC 3261 §20.17), worked out once a second rather than per answer.
 */
export function dateHeader(now: number = Date.now()): string {
  if (now >= validUntil || now < validUntil - 1000) {
    text = new Date(now).toUTCString();
    validUntil = now - (now % 1000) + 1000;
  }
  return text;
}
