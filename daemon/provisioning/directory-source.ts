import type { Knex } from 'knex';
import { extensionFromRow } from '../admin/store/rows';
import { toBool } from '../storage/json';
import { type Directory, buildDirectory } from './model/directory';

/** The render cache dependency every directory file of a tenant carries: dropped by any change to its profiles, extensions or the tenant. */
export const directoryDependency = (tenantId: string) => `directory:${tenantId}`;

export interface LoadedDirectory {
  directory: Directory;
  /** The newest update among the records it was built from, for Last-Modified. */
  lastModified: string;
}

/** Reads a tenant's profiles and extensions in two queries, whatever their number, and builds its directory. */
export async function loadDirectory(knex: Knex, tenantId: string): Promise<LoadedDirectory> {
  const tenant = await knex('tenants').where('id', tenantId).first('name', 'updated_at');
  const users = await knex('users').where('tenant_id', tenantId).select('id', 'first_name', 'last_name', 'status', 'in_directory', 'updated_at');
  const extensions = (await knex('extensions').where('tenant_id', tenantId)).map(extensionFromRow);
  const directory = buildDirectory({
    tenantName: tenant?.name ?? '',
    users: users.map((u: Record<string, any>) => ({ id: u.id, firstName: u.first_name, lastName: u.last_name, status: u.status, directory: toBool(u.in_directory) })),
    extensions,
  });
  const stamps: string[] = [tenant?.updated_at, ...users.map((u: Record<string, any>) => u.updated_at), ...extensions.map((e) => e.updatedAt)].filter(Boolean);
  return { directory, lastModified: stamps.sort().at(-1) ?? '2000-01-01T00:00:00Z' };
}
