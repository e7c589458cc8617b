import type { Knex } from 'knex';
import { NotFoundError, ValidationError } from '../../core/errors';

/**
 * Who is asking. An operator (tenantId null) sees every tenant; a tenant
 * administrator only its own, and another tenant's objects are "not found"
 * to it, never "forbidden", so ids cannot be probed.
 */
export interface Scope {
  tenantId: string | null;
  actor: string;
}

export const OPERATOR: Scope = { tenantId: null, actor: 'operator' };

export function scoped(q: Knex.QueryBuilder, scope: Scope, column = 'tenant_id'): Knex.QueryBuilder {
  return scope.tenantId === null ? q : q.where(column, scope.tenantId);
}

/** The tenant a new object belongs to: the caller's own, or for an operator the one named in the body. */
export async function tenantForCreate(knex: Knex, scope: Scope, requested: unknown): Promise<string> {
  if (scope.tenantId !== null) {
    if (requested !== undefined && requested !== scope.tenantId) throw new NotFoundError('tenant');
    return scope.tenantId;
  }
  if (typeof requested !== 'string') throw new ValidationError([{ field: 'tenantId', reason: 'is required with an operator token' }]);
  const row = await knex('tenants').where('id', requested).first('id');
  if (!row) throw new NotFoundError('tenant');
  return requested;
}
