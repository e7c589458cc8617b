export const MAX_NAME = 255;

// What phones ask for: file names and the vendor folders above them. `$` appears in unexpanded Cisco macros.
const ALLOWED = /^[A-Za-z0-9._\-+$~/]+$/;

/**
 * Why a requested name is refused, or null when it may be looked up. One
 * leading slash is dropped by the caller (tftpd-hpa's -s does the same, and
 * Cisco's factory rule asks for /spa$PSN.cfg); anything that could climb out
 * of the served tree or name a host path is refused here, before any lookup.
 */
export function refuseName(name: string): string | null {
  if (name.length === 0) return 'empty name';
  if (name.length > MAX_NAME) return 'name too long';
  if (!ALLOWED.test(name)) return 'characters outside the allowed set';
  if (name.startsWith('/')) return 'absolute path';
  const segments = name.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return 'path traversal';
  return null;
}

export function stripOneSlash(name: string): string {
  return name.startsWith('/') && !name.startsWith('//') ? name.slice(1) : name;
}
