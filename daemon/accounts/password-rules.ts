/**
 * The password rules, stated on every page that asks for a password. Length
 * over composition (NIST SP 800-63B): long passphrases are welcome, and the
 * upper bound only keeps argon2 from being handed megabytes to hash.
 */
export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 128;

export const PASSWORD_RULES: readonly string[] = [
  `At least ${PASSWORD_MIN} and at most ${PASSWORD_MAX} characters; spaces are allowed, so a phrase of several words works well.`,
  'Not your username or email address, nor a password that contains them.',
  'Not a single character repeated, not digits and symbols alone, nor a well-known password such as "Password-2024!".',
];

// Compared on the letters alone, so that "Password-2024!" counts as "password".
const COMMON = ['password', 'qwerty', 'qwertyuiop', 'letmein', 'welcome', 'iloveyou', 'admin', 'dialtone', 'changeme', 'passw', 'secret', ''];

/** Every rule the password breaks, in words a person can act on; empty when it is acceptable. */
export function passwordProblems(password: string, who: { username: string; email: string }): string[] {
  const problems: string[] = [];
  const length = [...password].length;
  if (length < PASSWORD_MIN) problems.push(`is ${length} characters; use at least ${PASSWORD_MIN}`);
  if (length > PASSWORD_MAX) problems.push(`is ${length} characters; use at most ${PASSWORD_MAX}`);
  const lower = password.toLowerCase();
  const local = who.email.toLowerCase().split('@')[0] ?? '';
  if (who.username && lower.includes(who.username.toLowerCase())) problems.push('contains your username');
  else if (local.length >= 3 && lower.includes(local)) problems.push('contains your email address');
  if (length > 0 && /^(.)\1*$/su.test(password)) problems.push('is one character repeated');
  else if (length >= PASSWORD_MIN && COMMON.includes(lower.replace(/[^\p{L}]/gu, ''))) problems.push('is a well-known password, or digits and symbols alone');
  return problems;
}
