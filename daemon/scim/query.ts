import type { Knex } from 'knex';
import { ScimError } from './errors';
import { type CompareOp, type Filter, type Value } from './filter';

export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const CORE_PREFIX = 'urn:ietf:params:scim:schemas:core:2.0:user:';
const ENTERPRISE_PREFIX = `${ENTERPRISE_USER.toLowerCase()}:`;

type Attr =
  | { kind: 'string'; column: string; caseExact?: boolean }
  | { kind: 'date'; column: string }
  | { kind: 'active' }
  | { kind: 'constant'; value: string | boolean };

/** SCIM attribute paths (lower-cased, core URN removed) and the columns that hold them. */
const ATTRS: Record<string, Attr> = {
  id: { kind: 'string', column: 'id', caseExact: true },
  externalid: { kind: 'string', column: 'external_id', caseExact: true },
  username: { kind: 'string', column: 'username' },
  'name.givenname': { kind: 'string', column: 'first_name' },
  'name.familyname': { kind: 'string', column: 'last_name' },
  emails: { kind: 'string', column: 'email' },
  'emails.value': { kind: 'string', column: 'email' },
  'emails.type': { kind: 'constant', value: 'work' },
  'emails.primary': { kind: 'constant', value: true },
  title: { kind: 'string', column: 'job_title' },
  preferredlanguage: { kind: 'string', column: 'language' },
  phonenumbers: { kind: 'string', column: 'personal_phone' },
  'phonenumbers.value': { kind: 'string', column: 'personal_phone' },
  'phonenumbers.type': { kind: 'constant', value: 'other' },
  active: { kind: 'active' },
  'meta.created': { kind: 'date', column: 'created_at' },
  'meta.lastmodified': { kind: 'date', column: 'updated_at' },
  'meta.resourcetype': { kind: 'constant', value: 'User' },
  'enterprise:department': { kind: 'string', column: 'department' },
};

export function attributeFor(path: string): Attr {
  let p = path.toLowerCase();
  if (p.startsWith(CORE_PREFIX)) p = p.slice(CORE_PREFIX.length);
  else if (p.startsWith(ENTERPRISE_PREFIX)) p = `enterprise:${p.slice(ENTERPRISE_PREFIX.length)}`;
  const attr = ATTRS[p];
  if (!attr) throw new ScimError(400, 'invalidFilter', `cannot filter or sort on ${JSON.stringify(path.slice(0, 100))}; supported: ${Object.keys(ATTRS).join(', ')}`);
  return attr;
}

const likeEscape = (s: string) => s.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`);

function constantMatch(op: CompareOp | 'pr', actual: string | boolean, expected: Value): boolean {
  if (op === 'pr') return true;
  const a = typeof actual === 'string' ? actual.toLowerCase() : actual;
  const e = typeof expected === 'string' ? expected.toLowerCase() : expected;
  if (op === 'eq') return a === e;
  if (op === 'ne') return a !== e;
  if (typeof a !== 'string' || typeof e !== 'string') throw new ScimError(400, 'invalidFilter', `${op} needs a string value`);
  return op === 'co' ? a.includes(e) : op === 'sw' ? a.startsWith(e) : op === 'ew' ? a.endsWith(e) : op === 'gt' ? a > e : op === 'ge' ? a >= e : op === 'lt' ? a < e : a <= e;
}

const SQL_OP: Record<'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le', string> = { eq: '=', ne: '<>', gt: '>', ge: '>=', lt: '<', le: '<=' };

function attrClause(qb: Knex.QueryBuilder, op: CompareOp | 'pr', path: string, value: Value): void {
  const attr = attributeFor(path);
  if (attr.kind === 'constant') {
    qb.whereRaw(constantMatch(op, attr.value, value) ? '1 = 1' : '1 = 0');
    return;
  }
  if (attr.kind === 'active') {
    if (op === 'pr') return void qb.whereRaw('1 = 1');
    if ((op !== 'eq' && op !== 'ne') || typeof value !== 'boolean') throw new ScimError(400, 'invalidFilter', 'active takes eq or ne with true or false');
    qb.where('status', (op === 'eq') === value ? '=' : '<>', 'active');
    return;
  }
  const col = attr.column;
  if (op === 'pr') {
    qb.whereNotNull(col).where(col, '<>', '');
    return;
  }
  if (value === null) {
    if (op === 'eq') qb.where((w) => w.whereNull(col).orWhere(col, ''));
    else if (op === 'ne') qb.whereNotNull(col).where(col, '<>', '');
    else throw new ScimError(400, 'invalidFilter', `${op} does not take null`);
    return;
  }
  if (typeof value !== 'string') throw new ScimError(400, 'invalidFilter', `${path} is a string: compare it with a "quoted" value`);
  if (attr.kind === 'date') {
    const t = Date.parse(value);
    if (Number.isNaN(t)) throw new ScimError(400, 'invalidFilter', `${path} takes a date such as "2011-05-13T04:42:34Z"`);
    const iso = new Date(t).toISOString();
    if (op === 'co' || op === 'sw' || op === 'ew') throw new ScimError(400, 'invalidFilter', `${op} does not apply to a date`);
    qb.where(col, SQL_OP[op], iso);
    return;
  }
  // Null and empty read as "" so that not(title eq "x") keeps profiles without a title, as SCIM means it.
  const lhs = attr.caseExact ? `coalesce(??, '')` : `lower(coalesce(??, ''))`;
  const v = attr.caseExact ? value : value.toLowerCase();
  if (op === 'co' || op === 'sw' || op === 'ew') {
    const pattern = op === 'co' ? `%${likeEscape(value)}%` : op === 'sw' ? `${likeEscape(value)}%` : `%${likeEscape(value)}`;
    qb.whereRaw(`lower(coalesce(??, '')) like ? escape '!'`, [col, pattern]);
    return;
  }
  qb.whereRaw(`${lhs} ${SQL_OP[op]} ?`, [col, v]);
}

/** Adds a parsed filter to a query as SQL: the database does the filtering, never the process. */
export function applyFilter(qb: Knex.QueryBuilder, f: Filter, prefix = ''): void {
  switch (f.op) {
    case 'and':
      qb.where((w) => applyFilter(w, f.left, prefix)).where((w) => applyFilter(w, f.right, prefix));
      return;
    case 'or':
      qb.where((w) => {
        w.where((x) => applyFilter(x, f.left, prefix)).orWhere((x) => applyFilter(x, f.right, prefix));
      });
      return;
    case 'not':
      qb.whereNot((w) => applyFilter(w, f.filter, prefix));
      return;
    case 'valuePath':
      if (prefix) throw new ScimError(400, 'invalidFilter', 'value filters cannot nest');
      applyFilter(qb, f.filter, `${f.path}.`);
      return;
    case 'pr':
      attrClause(qb, 'pr', prefix + f.path, null);
      return;
    default:
      attrClause(qb, f.op, prefix + f.path, f.value);
  }
}

export function sortColumn(sortBy: string): string {
  const attr = attributeFor(sortBy);
  if (attr.kind === 'active') return 'status';
  if (attr.kind === 'constant') return 'id';
  return attr.column === 'username' ? 'username_key' : attr.column;
}
