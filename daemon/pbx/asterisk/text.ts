/**
 * Values bound for Asterisk realtime columns. The tables are latin1, so
 * characters outside it are folded to their base letter where one exists
 * (José → Jose) and replaced otherwise; the realtime drivers split values
 * on ';', so it never reaches a column; quotes and angle brackets would break
 * the `"Name" <number>` caller ID syntax.
 */
// Letters NFKD does not decompose but that have an obvious latin1 spelling.
const FOLD: Record<string, string> = { Ł: 'L', ł: 'l', Đ: 'D', đ: 'd', Œ: 'OE', œ: 'oe', ı: 'i', Ŧ: 'T', ŧ: 't', Ħ: 'H', ħ: 'h' };

function latin1Char(ch: string): string {
  if (/[\u0020-\u007e\u00a0-\u00ff]/.test(ch)) return ch;
  if (FOLD[ch]) return FOLD[ch];
  const base = ch.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  return /^[\u0020-\u007e\u00a0-\u00ff]+$/.test(base) ? base : '?';
}

export function realtimeText(value: string, max: number): string {
  const folded = Array.from(value.normalize('NFC'), latin1Char).join('')
    .replace(/[;"<>\\]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return folded.slice(0, max);
}

/** `"Name" <number>` within the 40 characters ps_endpoints.callerid holds: the name gives way, never the number. */
export function callerIdString(name: string, number: string): string {
  const num = realtimeText(number, 32);
  const room = 40 - num.length - 5;
  const shown = room > 0 ? realtimeText(name, room) : '';
  return shown ? `"${shown}" <${num}>` : `<${num}>`;
}

/**
 * A value that must keep a `;` (a SIP URI parameter, a list of channel
 * variables): the realtime drivers split on `;` and then decode `^XX` hex
 * escapes in each piece (ast_realtime_decode_chunk), so `;` is written `^3B`
 * and `^` itself `^5E`.
 */
export function realtimeChunk(value: string): string {
  return value.replace(/\^/g, '^5E').replace(/;/g, '^3B');
}
