import { ScimError } from './errors';

/**
 * The filter grammar of RFC 7644 §3.4.2.2: attribute expressions with eq, ne,
 * co, sw, ew, gt, ge, lt, le and pr; and, or, not with the precedence
 * not > and > or; parentheses; and value paths such as
 * emails[type eq "work" and value co "@example.com"].
 */
export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type Value = string | number | boolean | null;

export type Filter =
  | { op: 'pr'; path: string }
  | { op: CompareOp; path: string; value: Value }
  | { op: 'and' | 'or'; left: Filter; right: Filter }
  | { op: 'not'; filter: Filter }
  | { op: 'valuePath'; path: string; filter: Filter };

const COMPARE = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);
const MAX_FILTER = 2000;
const MAX_DEPTH = 30;

type Token = { t: 'word'; v: string } | { t: 'string'; v: string } | { t: '(' | ')' | '[' | ']' } | { t: 'end' };

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const ch = s[i]!;
    if (ch === ' ' || ch === '\t') {
      i++;
    } else if (ch === '(' || ch === ')' || ch === '[' || ch === ']') {
      out.push({ t: ch });
      i++;
    } else if (ch === '"') {
      let j = i + 1;
      while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
      if (j >= s.length) throw new ScimError(400, 'invalidFilter', 'a string in the filter is not closed');
      try {
        out.push({ t: 'string', v: JSON.parse(s.slice(i, j + 1)) as string });
      } catch {
        throw new ScimError(400, 'invalidFilter', `bad escape in the string ${s.slice(i, j + 1).slice(0, 40)}`);
      }
      i = j + 1;
    } else {
      const m = /^[^\s()[\]"]+/.exec(s.slice(i));
      out.push({ t: 'word', v: m![0] });
      i += m![0].length;
    }
  }
  out.push({ t: 'end' });
  return out;
}

// ATTRNAME with optional schema URN prefix and sub-attribute, as RFC 7644 §3.10.
const ATTR_PATH = /^(?:urn:[A-Za-z0-9.:_\-]+:)?[A-Za-z][A-Za-z0-9_\-$]*(?:\.[A-Za-z][A-Za-z0-9_\-$]*)?$/;

export function parseFilter(text: string): Filter {
  if (text.length > MAX_FILTER) throw new ScimError(400, 'invalidFilter', `the filter is longer than ${MAX_FILTER} characters`);
  const tokens = tokenize(text);
  let pos = 0;
  let depth = 0;
  const peek = () => tokens[pos]!;
  const word = (w: string) => peek().t === 'word' && (peek() as { v: string }).v.toLowerCase() === w;
  const fail = (why: string): never => {
    throw new ScimError(400, 'invalidFilter', why);
  };

  const or = (): Filter => {
    let left = and();
    while (word('or')) {
      pos++;
      left = { op: 'or', left, right: and() };
    }
    return left;
  };
  const and = (): Filter => {
    let left = unary();
    while (word('and')) {
      pos++;
      left = { op: 'and', left, right: unary() };
    }
    return left;
  };
  const unary = (): Filter => {
    if (++depth > MAX_DEPTH) fail('the filter is nested too deeply');
    try {
      if (word('not')) {
        pos++;
        if (peek().t !== '(') fail('"not" must be followed by a parenthesised filter');
        return { op: 'not', filter: group() };
      }
      if (peek().t === '(') return group();
      return attrExp();
    } finally {
      depth--;
    }
  };
  const group = (): Filter => {
    pos++;
    const f = or();
    if (peek().t !== ')') fail('a parenthesis is not closed');
    pos++;
    return f;
  };
  const attrExp = (): Filter => {
    const tok = peek();
    if (tok.t !== 'word' || !ATTR_PATH.test(tok.v)) fail(tok.t === 'end' ? 'the filter ends early' : `expected an attribute name, found ${JSON.stringify(tok.t === 'word' || tok.t === 'string' ? tok.v : tok.t)}`);
    const path = (tok as { v: string }).v;
    pos++;
    if (peek().t === '[') {
      pos++;
      const inner = or();
      if (peek().t !== ']') fail('a value filter "[" is not closed');
      pos++;
      const valuePath: Filter = { op: 'valuePath', path, filter: inner };
      const sub = peek();
      // emails[type eq "work"].value is a PATCH path, not a filter: only the bracket form filters.
      if (sub.t === 'word' && sub.v.startsWith('.')) fail('a sub-attribute after "]" is allowed only in PATCH paths');
      return valuePath;
    }
    const opTok = peek();
    if (opTok.t !== 'word') fail(`expected an operator after ${path}`);
    const op = (opTok as { v: string }).v.toLowerCase();
    pos++;
    if (op === 'pr') return { op: 'pr', path };
    if (!COMPARE.has(op)) fail(`unknown operator ${JSON.stringify(op)}; use eq, ne, co, sw, ew, gt, ge, lt, le or pr`);
    const v = peek();
    pos++;
    let value: Value;
    if (v.t === 'string') value = v.v;
    else if (v.t === 'word' && v.v === 'true') value = true;
    else if (v.t === 'word' && v.v === 'false') value = false;
    else if (v.t === 'word' && v.v === 'null') value = null;
    else if (v.t === 'word' && /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(v.v)) value = Number(v.v);
    else return fail(`expected a value (a "string", number, true, false or null) after ${op}`);
    return { op: op as CompareOp, path, value };
  };

  const f = or();
  if (peek().t !== 'end') fail(`unexpected ${JSON.stringify(peek().t === 'word' || peek().t === 'string' ? (peek() as { v: string }).v : peek().t)} in the filter`);
  return f;
}

/** Reads an attribute of a resource the way SCIM names it: case-insensitive, sub-attributes by dot, schema URN prefix allowed. */
export function readPath(resource: Record<string, unknown>, path: string): unknown {
  const m = /^(urn:[A-Za-z0-9.:_\-]+):([^:]+)$/.exec(path);
  let base: unknown = resource;
  let rest = path;
  if (m) {
    const [, urn, attr] = m;
    const ext = Object.entries(resource).find(([k]) => k.toLowerCase() === urn!.toLowerCase());
    base = ext ? ext[1] : urn!.toLowerCase() === CORE_USER.toLowerCase() ? resource : undefined;
    rest = attr!;
  }
  for (const part of rest.split('.')) {
    if (Array.isArray(base)) base = base.map((b) => getCi(b, part)).filter((x) => x !== undefined);
    else base = getCi(base, part);
    if (base === undefined) return undefined;
  }
  return base;
}

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

function getCi(obj: unknown, key: string): unknown {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const k = Object.keys(obj).find((x) => x.toLowerCase() === key.toLowerCase());
  return k === undefined ? undefined : (obj as Record<string, unknown>)[k];
}

function compare(op: CompareOp, actual: unknown, expected: Value, caseExact: boolean): boolean {
  if (Array.isArray(actual)) return actual.some((a) => compare(op, a, expected, caseExact));
  // A complex attribute named without a sub-attribute compares its "value" (RFC 7644 §3.4.2.2).
  if (typeof actual === 'object' && actual !== null) return compare(op, getCi(actual, 'value'), expected, caseExact);
  if (op === 'eq' && expected === null) return actual === undefined || actual === null;
  if (op === 'ne' && expected === null) return actual !== undefined && actual !== null;
  if (actual === undefined || actual === null) return op === 'ne';
  if (typeof actual === 'boolean' || typeof expected === 'boolean') {
    if (op === 'eq') return actual === expected;
    if (op === 'ne') return actual !== expected;
    throw new ScimError(400, 'invalidFilter', `${op} does not apply to a boolean`);
  }
  const a = typeof actual === 'string' && !caseExact ? actual.toLowerCase() : actual;
  const e = typeof expected === 'string' && !caseExact ? expected.toLowerCase() : expected;
  switch (op) {
    case 'eq': return a === e;
    case 'ne': return a !== e;
    case 'co': return String(a).includes(String(e));
    case 'sw': return String(a).startsWith(String(e));
    case 'ew': return String(a).endsWith(String(e));
    case 'gt': return (a as string) > (e as string);
    case 'ge': return (a as string) >= (e as string);
    case 'lt': return (a as string) < (e as string);
    case 'le': return (a as string) <= (e as string);
  }
}

/** Evaluates a filter against one resource (or one element of a multi-valued attribute). */
export function matches(f: Filter, resource: Record<string, unknown>): boolean {
  switch (f.op) {
    case 'and': return matches(f.left, resource) && matches(f.right, resource);
    case 'or': return matches(f.left, resource) || matches(f.right, resource);
    case 'not': return !matches(f.filter, resource);
    case 'pr': {
      const v = readPath(resource, f.path);
      return v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0);
    }
    case 'valuePath': {
      const v = readPath(resource, f.path);
      const items = Array.isArray(v) ? v : v === undefined ? [] : [v];
      return items.some((item) => typeof item === 'object' && item !== null && matches(f.filter, item as Record<string, unknown>));
    }
    default:
      return compare(f.op, readPath(resource, f.path), f.value, f.path.toLowerCase() === 'id');
  }
}
