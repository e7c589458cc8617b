import type { Knex } from 'knex';
import * as admin from './001_admin';
import * as accounts from './004_accounts';
import * as pbx from './005_pbx';
import * as activation from './006_activation';
import * as provisioning from './002_provisioning';
import * as eventCounts from './007_event_counts';
import * as tenantPbx from './008_tenant_pbx';
import * as firmware from './009_firmware';
import * as directoryPorts from './010_directory_ports';

/**
 * The migrations in order. Listed here rather than found on disk so the same
 * list runs from TypeScript in tests and from compiled JavaScript in production.
 * Append new files; never edit one that has shipped.
 */
const MIGRATIONS: Record<string, { up(k: Knex): Promise<void>; down(k: Knex): Promise<void> }> = {
  '001_admin': admin,
  '004_accounts': accounts,
  '005_pbx': pbx,
  '006_activation': activation,
  '002_provisioning': provisioning,
  '007_event_counts': eventCounts,
  '008_tenant_pbx': tenantPbx,
  '009_firmware': firmware,
  '010_directory_ports': directoryPorts,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS),
  getMigrationName: (name) => name,
  getMigration: async (name) => MIGRATIONS[name]!,
};
