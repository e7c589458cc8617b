import type { Knex } from 'knex';
import { type FieldProblem, Problems, ValidationError } from '../core/errors';
import type { ChangeFeed } from '../core/changes';
import { newId, now } from '../core/ids';
import type { SecretBox } from '../crypto/secret-box';
import { applySettings, DEFAULT_SETTINGS, validateNumber } from '../admin/domain/extension';
import { type ProfileFields, usernameKey, validateNewProfile } from '../admin/domain/profile';
import { USER_UNIQUE, userRow } from '../admin/service/users';
import { EXTENSION_UNIQUE, newExtensionRows } from '../admin/service/extensions';
import type { Scope } from '../admin/service/scope';
import { userFromRow, type User } from '../admin/store/rows';
import { translateUnique } from '../storage/errors';
import { recordAudit } from '../audit/log';
import { type NoticeDeps, welcomeRows } from '../accounts/notices';
import { type Column, COLUMNS, columnFor } from './columns';
import { CsvSyntaxError, parseCsv } from './csv';

/** About 20,000 rows of a full advanced template: a bigger file is a mistake or needs splitting. */
export const BULK_MAX_BYTES = 5 * 1024 * 1024;
export const BULK_MAX_ROWS = 20_000;

/** One problem of an uploaded file, located as a spreadsheet shows it. */
export interface RowProblem extends FieldProblem {
  line: number;
  column: string;
}

/** Enough to fix a file by; a file wrong on every row would otherwise answer with megabytes. */
export const MAX_REPORTED = 1000;

export class BulkValidationError extends ValidationError {
  constructor(problems: RowProblem[]) {
    const shown = problems.length > MAX_REPORTED
      ? [...problems.slice(0, MAX_REPORTED), { field: 'file', reason: `and ${problems.length - MAX_REPORTED} more problems not listed`, line: 0, column: 'file' }]
      : problems;
    super(shown, `the file has ${problems.length} problem(s); nothing was created`);
  }
}

const problem = (line: number, column: string, reason: string): RowProblem => ({ field: `line ${line}, ${column}`, reason, line, column });

/** UTF-8 as any modern export; otherwise the Windows code page Excel's plain "CSV" format still writes. */
export function decodeUpload(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder('windows-1252').decode(bytes);
  }
}

interface PlannedRow {
  line: number;
  profile: ProfileFields;
  extension: { number: string; onlineAccess: boolean } | null;
}

const BOOL: Record<string, boolean> = { yes: true, y: true, true: true, '1': true, no: false, n: false, false: false, '0': false };

function inChunks<T>(list: T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/**
 * Reads and checks a whole file: every row through the same profile and
 * extension rules as the API, then against each other and the database.
 * Returns the rows to create, or throws with every problem found.
 */
export async function planImport(knex: Knex, tenantId: string, bytes: Buffer): Promise<PlannedRow[]> {
  if (bytes.length > BULK_MAX_BYTES) {
    throw new BulkValidationError([problem(0, 'file', `is ${(bytes.length / 1048576).toFixed(1)} MB; the limit is ${BULK_MAX_BYTES / 1048576} MB (about ${BULK_MAX_ROWS} rows): split the file`)]);
  }
  let records;
  try {
    records = parseCsv(decodeUpload(bytes));
  } catch (err) {
    if (err instanceof CsvSyntaxError) throw new BulkValidationError([problem(err.line, 'file', err.message)]);
    throw err;
  }
  const [header, ...rows] = records;
  if (!header) throw new BulkValidationError([problem(1, 'file', 'is empty: download the template and fill one row per person')]);
  if (rows.length > BULK_MAX_ROWS) throw new BulkValidationError([problem(0, 'file', `has ${rows.length} rows; the limit is ${BULK_MAX_ROWS}: split the file`)]);

  const problems: RowProblem[] = [];
  const columns: (Column | null)[] = header.cells.map((h, i) => {
    const c = columnFor(h);
    if (!c && h.trim() !== '') problems.push(problem(1, h.slice(0, 40), `is not a template column; known: ${COLUMNS.map((x) => x.header).join(', ')}`));
    if (!c && h.trim() === '') return null;
    if (c && header.cells.slice(0, i).some((earlier) => columnFor(earlier) === c)) problems.push(problem(1, c.header, 'appears twice'));
    return c ?? null;
  });
  for (const c of COLUMNS) if (c.required && !columns.includes(c)) problems.push(problem(1, c.header, 'column is missing'));
  if (rows.length === 0) problems.push(problem(1, 'file', 'has a header but no rows'));
  if (problems.length > 0) throw new BulkValidationError(problems);

  const sites = new Map((await knex('sites').where('tenant_id', tenantId).select('id', 'name')).map((s) => [String(s.name).toLowerCase(), s.id as string]));
  const headerOf = (key: string) => COLUMNS.find((c) => c.key === key || (key === 'siteId' && c.key === 'site'))?.header ?? key;
  const planned: PlannedRow[] = [];
  for (const row of rows) {
    const values: Partial<Record<Column['key'], string>> = {};
    row.cells.forEach((v, i) => {
      const c = columns[i];
      if (c && v.trim() !== '') values[c.key] = v.trim();
      else if (!c && v.trim() !== '') problems.push(problem(row.line, `column ${i + 1}`, 'has a value but no header'));
    });
    const input: Record<string, unknown> = {
      firstName: values.firstName, lastName: values.lastName, email: values.email, username: values.username,
    };
    for (const key of ['jobTitle', 'department', 'personalPhone', 'language'] as const) if (values[key]) input[key] = values[key];
    if (values.directory !== undefined) {
      const listed = BOOL[values.directory.toLowerCase()];
      if (listed === undefined) problems.push(problem(row.line, headerOf('directory'), 'must be yes or no'));
      else input.directory = listed;
    }
    if (values.site) {
      const siteId = sites.get(values.site.toLowerCase());
      if (siteId) input.siteId = siteId;
      else problems.push(problem(row.line, headerOf('site'), `no site of this tenant is named ${JSON.stringify(values.site.slice(0, 100))}`));
    }
    let profile: ProfileFields | null = null;
    try {
      profile = validateNewProfile(input);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      for (const d of err.details) problems.push(problem(row.line, headerOf(d.field), d.reason));
    }
    let extension: PlannedRow['extension'] = null;
    if (values.extension !== undefined || values.onlineAccess !== undefined) {
      const p = new Problems();
      const number = values.extension === undefined ? null : validateNumber(p, values.extension);
      if (values.extension === undefined) p.add('onlineAccess', 'applies only with an Extension');
      const online = values.onlineAccess === undefined ? true : BOOL[values.onlineAccess.toLowerCase()];
      if (online === undefined) p.add('onlineAccess', 'must be yes or no');
      for (const d of p.list) problems.push(problem(row.line, headerOf(d.field === 'number' ? 'extension' : 'onlineAccess'), d.reason));
      if (number !== null && online !== undefined) extension = { number, onlineAccess: online };
    }
    if (profile) planned.push({ line: row.line, profile, extension });
  }

  // Create only, as the seeds say: a username or email already present is an error, within the file and against the database.
  const seen = { username: new Map<string, number>(), email: new Map<string, number>(), extension: new Map<string, number>() };
  for (const r of planned) {
    const checks: [keyof typeof seen, string | undefined, string][] = [
      ['username', usernameKey(r.profile.username), headerOf('username')],
      ['email', r.profile.email.toLowerCase(), headerOf('email')],
      ['extension', r.extension?.number, headerOf('extension')],
    ];
    for (const [what, key, column] of checks) {
      if (key === undefined) continue;
      const first = seen[what].get(key);
      if (first !== undefined) problems.push(problem(r.line, column, `repeats line ${first}: each ${what} may appear once`));
      else seen[what].set(key, r.line);
    }
  }
  for (const chunk of inChunks([...seen.username.keys()])) {
    for (const u of await knex('users').whereIn('username_key', chunk).select('username_key')) {
      problems.push(problem(seen.username.get(u.username_key)!, headerOf('username'), 'is already taken (usernames are unique across all accounts, ignoring case); bulk upload only creates new profiles'));
    }
  }
  for (const chunk of inChunks([...seen.email.keys()])) {
    for (const u of await knex('users').where('tenant_id', tenantId).whereRaw(`lower(email) in (${chunk.map(() => '?').join(',')})`, chunk).select('email')) {
      problems.push(problem(seen.email.get(String(u.email).toLowerCase())!, headerOf('email'), 'already belongs to a profile of this tenant; bulk upload only creates new profiles'));
    }
  }
  for (const chunk of inChunks([...seen.extension.keys()])) {
    for (const e of await knex('extensions').where('tenant_id', tenantId).whereIn('number', chunk).select('number')) {
      problems.push(problem(seen.extension.get(e.number)!, headerOf('extension'), 'is already an extension of this tenant'));
    }
  }
  if (problems.length > 0) throw new BulkValidationError(problems.sort((a, b) => a.line - b.line));
  return planned;
}

export interface ImportDeps {
  knex: Knex;
  secrets: SecretBox;
  changes: ChangeFeed | null;
  notices: NoticeDeps;
}

export interface ImportResult {
  created: number;
  extensions: number;
  users: { line: number; id: string; username: string; extensionId: string | null }[];
}

/**
 * Creates every planned row in one transaction, so the file is created whole
 * or not at all. The welcomes follow in a second transaction, after the
 * activation codes are known (their provider may read the new extensions).
 */
export async function importUsers(d: ImportDeps, scope: Scope, tenantId: string, bytes: Buffer): Promise<ImportResult> {
  const planned = await planImport(d.knex, tenantId, bytes);
  const at = now();
  const result: ImportResult = { created: 0, extensions: 0, users: [] };
  const welcomes: { user: User; extension: { id: string; number: string; onlineAccess: boolean } }[] = [];
  const users: Record<string, unknown>[] = [];
  const extensions: Record<string, unknown>[] = [];
  const assignments: Record<string, unknown>[] = [];
  for (const r of planned) {
    const id = newId();
    const row = { ...userRow(r.profile), id, tenant_id: tenantId, kind: 'person', status: 'active', is_admin: false, created_at: at, updated_at: at };
    users.push(row);
    let extensionId: string | null = null;
    if (r.extension) {
      const { settings } = applySettings(DEFAULT_SETTINGS, { onlineAccess: r.extension.onlineAccess }, { number: r.extension.number, profileEmail: r.profile.email });
      const rows = newExtensionRows(d.secrets, { tenantId, number: r.extension.number, userId: id, siteId: null, settings, pin: null, at });
      extensions.push(rows.extension);
      assignments.push(rows.assignment);
      extensionId = rows.extension.id as string;
      welcomes.push({ user: userFromRow(row), extension: { id: extensionId, number: r.extension.number, onlineAccess: r.extension.onlineAccess } });
    }
    result.users.push({ line: r.line, id, username: r.profile.username, extensionId });
  }
  try {
    await d.knex.transaction(async (trx) => {
      for (const chunk of inChunks(users, 200)) await trx('users').insert(chunk);
      for (const chunk of inChunks(extensions, 200)) await trx('extensions').insert(chunk);
      for (const chunk of inChunks(assignments, 200)) await trx('extension_assignments').insert(chunk);
      await recordAudit(trx, { tenantId, actor: scope.actor, kind: 'bulk_import', objectId: tenantId, action: 'created', detail: { profiles: users.length, extensions: extensions.length } });
    });
  } catch (err) {
    translateUnique(err, { ...USER_UNIQUE, ...EXTENSION_UNIQUE });
  }
  await queueWelcomes(d, tenantId, welcomes);
  result.created = result.users.length;
  result.extensions = extensions.length;
  for (const u of result.users) {
    d.changes?.publish({ kind: 'user', id: u.id, tenantId, action: 'created', actor: scope.actor });
    if (u.extensionId) d.changes?.publish({ kind: 'extension', id: u.extensionId, tenantId, action: 'created', actor: scope.actor });
  }
  d.notices.queued();
  return result;
}

async function queueWelcomes(d: ImportDeps, tenantId: string, welcomes: { user: User; extension: { id: string; number: string; onlineAccess: boolean } }[]): Promise<void> {
  const tenant = await d.knex('tenants').where('id', tenantId).first('name', 'sip_domain');
  const links: Record<string, unknown>[] = [];
  const mails: Record<string, unknown>[] = [];
  for (const w of welcomes) {
    const activationCode = d.notices.activationCode ? await d.notices.activationCode(w.extension.id) : null;
    const rows = welcomeRows(d.notices, { user: w.user, tenantName: tenant.name, sipDomain: tenant.sip_domain, hasPassword: false, extension: { ...w.extension, activationCode } });
    if (rows.link) links.push(rows.link);
    mails.push(rows.mail);
  }
  await d.knex.transaction(async (trx) => {
    for (const chunk of inChunks(welcomes.map((w) => w.user.id))) await trx('users').whereIn('id', chunk).update({ welcomed_at: now() });
    for (const chunk of inChunks(links, 200)) await trx('password_links').insert(chunk);
    for (const chunk of inChunks(mails, 200)) await trx('mail_queue').insert(chunk);
  });
}
