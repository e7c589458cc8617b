/**
 * The errors every layer speaks. Domain rules throw them, adapters translate
 * driver errors into them, and the HTTP layer maps them to status codes once.
 */
export interface FieldProblem {
  field: string;
  reason: string;
}

export class DomainError extends Error {
  constructor(
    readonly code: 'validation' | 'conflict' | 'not_found' | 'refused' | 'forbidden' | 'unauthorized' | 'rate_limited',
    message: string,
    readonly details: FieldProblem[] = [],
  ) {
    super(message);
  }
}

export class ValidationError extends DomainError {
  constructor(details: FieldProblem[], message = describe(details)) {
    super('validation', message, details);
  }
}

export class ConflictError extends DomainError {
  constructor(field: string, reason: string) {
    super('conflict', `${field}: ${reason}`, [{ field, reason }]);
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string) {
    super('not_found', `${what} not found`);
  }
}

/** An operation the product never performs, such as deleting a profile. */
export class RefusedError extends DomainError {
  constructor(message: string) {
    super('refused', message);
  }
}

function describe(details: FieldProblem[]): string {
  return details.map((d) => `${d.field}: ${d.reason}`).join('; ') || 'invalid input';
}

/** Collects problems across many fields so one answer can name all of them. */
export class Problems {
  readonly list: FieldProblem[] = [];
  add(field: string, reason: string): void {
    this.list.push({ field, reason });
  }
  /** Runs a validation that throws, keeping its problems here so they are reported with the rest. */
  collect<T>(fn: () => T): T | null {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      this.list.push(...err.details);
      return null;
    }
  }
  throwIfAny(): void {
    if (this.list.length > 0) throw new ValidationError(this.list);
  }
}
