import { ValidationError } from '../../core/errors';

/**
 * `?fields=id,username` returns only those keys, like the seeds' "viewable
 * and hidden fields"; a field that does not exist is an error rather than
 * silently missing from every row.
 */
export function project<T extends object>(items: T[], fields: string | undefined, known: readonly string[]): Partial<T>[] {
  if (!fields) return items;
  const wanted = fields.split(',').map((f) => f.trim()).filter(Boolean);
  const unknown = wanted.filter((f) => !known.includes(f));
  if (unknown.length > 0) {
    throw new ValidationError(unknown.map((f) => ({ field: 'fields', reason: `unknown field ${JSON.stringify(f.slice(0, 40))}; known: ${known.join(', ')}` })));
  }
  return items.map((item) => Object.fromEntries(wanted.map((f) => [f, (item as Record<string, unknown>)[f]])) as Partial<T>);
}
