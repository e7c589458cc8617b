/**
 * JSON is kept in text columns on both databases: MariaDB's JSON type is an
 * alias of LONGTEXT with a check, SQLite has none, and one representation
 * keeps the two from drifting.
 */
export function toJsonColumn(value: unknown): string {
  return JSON.stringify(value ?? null);
}

export function fromJsonColumn<T>(text: string | null | undefined, fallback: T): T {
  if (text === null || text === undefined || text === '') return fallback;
  return JSON.parse(text) as T;
}

export const toBool = (v: unknown): boolean => v === true || v === 1 || v === '1';
