import { randomDigits } from '../crypto/random';

/**
 * Activation codes are keyed in on a phone's keypad, so they are digits
 * only, and end in a Luhn check digit: a mistyped code is told apart from an
 * unknown one without a database lookup, and never burns a guess.
 */
export const CODE_LENGTH = 10;

function luhnDigit(payload: string): string {
  let sum = 0;
  for (let i = 0; i < payload.length; i++) {
    let d = Number(payload[payload.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

export function generateCode(): string {
  const payload = randomDigits(CODE_LENGTH - 1);
  return payload + luhnDigit(payload);
}

export type CodeEntry = { ok: true; code: string } | { ok: false; reason: 'length' | 'check' };

/** What the user keyed in (or typed with spaces and dashes, as printed in the email), judged before any lookup. */
export function readCode(entered: string): CodeEntry {
  const digits = entered.replace(/[\s-]/g, '');
  if (!/^[0-9]+$/.test(digits) || digits.length !== CODE_LENGTH) return { ok: false, reason: 'length' };
  if (luhnDigit(digits.slice(0, -1)) !== digits.slice(-1)) return { ok: false, reason: 'check' };
  return { ok: true, code: digits };
}

/** As printed in the welcome email: 123-456-7890 is easier to read back than ten digits in a row. */
export function formatCode(code: string): string {
  return `${code.slice(0, 3)}-${code.slice(3, 6)}-${code.slice(6)}`;
}
