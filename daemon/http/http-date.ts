let text = '';
let validUntil = 0;

/** The IMF-fixdate of `now` for a Date header, worked out once a second rather than per answer. */
export function httpDate(now: number = Date.now()): string {
  if (now >= validUntil || now < validUntil - 1000) {
    text = new Date(now).toUTCString();
    validUntil = now - (now % 1000) + 1000;
  }
  return text;
}
