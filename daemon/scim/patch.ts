import { ScimError } from './errors';
import { type Filter, matches, parseFilter } from './filter';

export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** A PATCH path (RFC 7644 §3.5.2): attr, attr.sub, urn:…:attr, attr[filter], attr[filter].sub. */
export interface PatchPath {
  /** The attribute, with its schema URN when one was given. */
  attr: string;
  urn: string | null;
  filter: Filter | null;
  sub: string | null;
}

const NAME = '[A-Za-z][A-Za-z0-9_\\-$]*';

export function parsePatchPath(path: string): PatchPath {
  if (path.length > 500) throw new ScimError(400, 'invalidPath', 'the path is too long');
  const m = new RegExp(`^(?:(urn:[A-Za-z0-9.:_\\-]+):)?(${NAME})(?:\\.(${NAME}))?(?:\\[(.*)\\](?:\\.(${NAME}))?)?$`).exec(path.trim());
  if (!m) throw new ScimError(400, 'invalidPath', `${JSON.stringify(path.slice(0, 100))} is not an attribute path`);
  const [, urn, attr, sub1, filterText, sub2] = m;
  if (sub1 && filterText !== undefined) throw new ScimError(400, 'invalidPath', 'a value filter applies to a multi-valued attribute, not a sub-attribute');
  let filter: Filter | null = null;
  if (filterText !== undefined) {
    try {
      filter = parseFilter(filterText);
    } catch (err) {
      if (err instanceof ScimError) throw new ScimError(400, 'invalidPath', `in the value filter: ${err.message}`);
      throw err;
    }
  }
  return { urn: urn ?? null, attr: attr!, filter, sub: sub1 ?? sub2 ?? null };
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function keyCi(obj: Obj, key: string): string {
  return Object.keys(obj).find((k) => k.toLowerCase() === key.toLowerCase()) ?? key;
}

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:user';

/** The object a path's attribute lives in: the resource itself, or the extension object named by its URN. */
function container(resource: Obj, urn: string | null, create: boolean): Obj | null {
  if (!urn || urn.toLowerCase() === CORE) return resource;
  const k = keyCi(resource, urn);
  if (!isObj(resource[k])) {
    if (!create) return null;
    resource[k] = {};
  }
  return resource[k] as Obj;
}

/** add: multi-valued attributes gain values, complex ones merge, simple ones are set (RFC 7644 §3.5.2.1). */
function addValue(target: Obj, key: string, value: unknown): void {
  const k = keyCi(target, key);
  const current = target[k];
  if (Array.isArray(current)) target[k] = [...current, ...(Array.isArray(value) ? value : [value])];
  else if (isObj(current) && isObj(value)) target[k] = { ...current, ...value };
  else target[k] = value;
}

function applyOne(resource: Obj, op: string, path: string | undefined, value: unknown): void {
  if (path === undefined || path === '') {
    if (op === 'remove') throw new ScimError(400, 'noTarget', 'remove needs a path');
    if (!isObj(value)) throw new ScimError(400, 'invalidValue', `${op} without a path needs an object value`);
    for (const [k, v] of Object.entries(value)) {
      if (k.toLowerCase().startsWith('urn:') && isObj(v)) {
        const c = container(resource, k, true)!;
        for (const [ek, ev] of Object.entries(v)) {
          if (op === 'add') addValue(c, ek, ev);
          else c[keyCi(c, ek)] = ev;
        }
      } else if (op === 'add') {
        addValue(resource, k, v);
      } else {
        // Replacing a complex attribute leaves its unnamed sub-attributes unchanged (RFC 7644 §3.5.2.3).
        const key = keyCi(resource, k);
        resource[key] = isObj(resource[key]) && isObj(v) ? { ...(resource[key] as Obj), ...v } : v;
      }
    }
    return;
  }
  const p = parsePatchPath(path);
  const c = container(resource, p.urn, op !== 'remove');
  if (!c) return;
  const key = keyCi(c, p.attr);
  if (p.filter) {
    const list = c[key];
    const items = Array.isArray(list) ? (list as unknown[]) : [];
    const hit = items.map((item, i) => (isObj(item) && matches(p.filter!, item) ? i : -1)).filter((i) => i >= 0);
    if (op === 'remove') {
      if (p.sub) for (const i of hit) delete (items[i] as Obj)[keyCi(items[i] as Obj, p.sub)];
      else c[key] = items.filter((_x, i) => !hit.includes(i));
      return;
    }
    if (hit.length === 0) {
      if (op === 'replace') throw new ScimError(400, 'noTarget', `no value of ${p.attr} matches the filter`);
      // add with a filter that matches nothing: the value becomes a new element.
      c[key] = [...items, p.sub ? { [p.sub]: value } : value];
      return;
    }
    for (const i of hit) {
      if (p.sub) (items[i] as Obj)[keyCi(items[i] as Obj, p.sub)] = value;
      else items[i] = isObj(value) ? { ...(items[i] as Obj), ...value } : value;
    }
    return;
  }
  if (p.sub) {
    if (!isObj(c[key])) {
      if (op === 'remove') return;
      c[key] = {};
    }
    const inner = c[key] as Obj;
    if (op === 'remove') delete inner[keyCi(inner, p.sub)];
    else inner[keyCi(inner, p.sub)] = value;
    return;
  }
  if (op === 'remove') delete c[key];
  else if (op === 'add') addValue(c, key, value);
  else c[key] = isObj(c[key]) && isObj(value) ? { ...(c[key] as Obj), ...value } : value;
}

/** Applies a PatchOp request to a copy of the resource; the caller validates and stores the result. */
export function applyPatch(resource: Obj, body: unknown): Obj {
  if (!isObj(body)) throw new ScimError(400, 'invalidSyntax', 'the body must be a JSON object');
  const schemas = body.schemas;
  if (!Array.isArray(schemas) || !schemas.includes(PATCH_OP)) throw new ScimError(400, 'invalidSyntax', `schemas must be ["${PATCH_OP}"]`);
  const ops = body.Operations ?? body.operations;
  if (!Array.isArray(ops) || ops.length === 0) throw new ScimError(400, 'invalidSyntax', 'Operations must be a non-empty list');
  if (ops.length > 100) throw new ScimError(400, 'tooMany', 'at most 100 operations per request');
  const out = structuredClone(resource);
  for (const raw of ops) {
    if (!isObj(raw)) throw new ScimError(400, 'invalidSyntax', 'each operation must be an object');
    const op = typeof raw.op === 'string' ? raw.op.toLowerCase() : '';
    if (!['add', 'replace', 'remove'].includes(op)) throw new ScimError(400, 'invalidSyntax', `op must be add, replace or remove, got ${JSON.stringify(raw.op)}`);
    if (raw.path !== undefined && typeof raw.path !== 'string') throw new ScimError(400, 'invalidPath', 'path must be a string');
    if (op !== 'remove' && !('value' in raw)) throw new ScimError(400, 'invalidValue', `${op} needs a value`);
    const path = raw.path as string | undefined;
    const p = path ? parsePatchPath(path) : null;
    if (p && ['id', 'meta', 'schemas'].includes(p.attr.toLowerCase()) && !p.urn) throw new ScimError(400, 'mutability', `${p.attr} is read-only`);
    applyOne(out, op, path, raw.value);
  }
  return out;
}
