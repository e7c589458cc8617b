import type { Problems } from '../../core/errors';
import { isPlainObject } from './fields';

export const KEY_TYPES = ['line', 'blf', 'speed-dial', 'park'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

/** The programmable keys of a desk phone and of its expansion modules, vendor-neutral. */
export interface Key {
  /** 1-based position on the phone, or on the module. */
  index: number;
  type: KeyType;
  /** The line number for a line key, the extension watched by a BLF, the number dialled, the parking slot. */
  value: string;
  label: string;
  /** 0 for the phone's own keys, 1 to MAX_MODULES for an expansion module (Yealink EXP, Cisco KEM…). */
  module: number;
}

export const MAX_KEYS = 64;
export const MAX_MODULES = 6;
const DIAL = /^\+?[0-9*#]{1,32}$/;
const FIELDS = ['index', 'type', 'value', 'label', 'module'];

/** Checks a list of keys from the API, naming each problem by its place (`keys.2.value`). */
export function validateKeys(p: Problems, field: string, v: unknown): Key[] | null {
  if (!Array.isArray(v) || v.length > MAX_KEYS * (MAX_MODULES + 1)) {
    p.add(field, `must be a list of keys {index, type, value, label?, module?}`);
    return null;
  }
  const seen = new Set<string>();
  const out: Key[] = [];
  v.forEach((k, i) => {
    const f = `${field}.${i}`;
    if (!isPlainObject(k)) {
      p.add(f, 'must be {index, type, value, label?, module?}');
      return;
    }
    let ok = true;
    const bad = (name: string, why: string) => {
      p.add(`${f}.${name}`, why);
      ok = false;
    };
    for (const name of Object.keys(k)) if (!FIELDS.includes(name)) bad(name, `is not a key field; known: ${FIELDS.join(', ')}`);
    const module = k.module ?? 0;
    if (!Number.isInteger(module) || (module as number) < 0 || (module as number) > MAX_MODULES) bad('module', `must be 0 (the phone) or an expansion module from 1 to ${MAX_MODULES}`);
    if (!Number.isInteger(k.index) || (k.index as number) < 1 || (k.index as number) > MAX_KEYS) bad('index', `must be 1 to ${MAX_KEYS}`);
    if (!(KEY_TYPES as readonly unknown[]).includes(k.type)) bad('type', `must be one of ${KEY_TYPES.join(', ')}`);
    if (typeof k.value !== 'string' || !DIAL.test(k.value)) bad('value', 'must be a line number, extension, number to dial or parking slot (digits, *, #, a leading +)');
    else if (k.type === 'line' && !/^[1-9]$/.test(k.value)) bad('value', 'must be the line number, 1 to 9, for a line key');
    const label = k.label ?? '';
    if (typeof label !== 'string' || label.length > 32 || /[\u0000-\u001f\u007f]/.test(label)) bad('label', 'must be at most 32 printable characters');
    if (!ok) return;
    const place = `${module}:${k.index}`;
    if (seen.has(place)) {
      p.add(`${f}.index`, `key ${k.index}${module ? ` of module ${module}` : ''} is given twice`);
      return;
    }
    seen.add(place);
    out.push({ index: k.index as number, type: k.type as KeyType, value: k.value as string, label: label as string, module: module as number });
  });
  return out;
}
