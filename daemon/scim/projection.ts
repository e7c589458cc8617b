import type { ScimResource } from './resource';

const ALWAYS = ['id', 'schemas'];

function split(list: string | undefined): string[] {
  return (list ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/** `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5), at the attribute and sub-attribute level. */
export function project(resource: ScimResource, attributes: string | undefined, excluded: string | undefined): ScimResource {
  const want = split(attributes);
  const drop = split(excluded);
  let out: ScimResource = resource;
  if (want.length > 0) {
    out = {};
    for (const [k, v] of Object.entries(resource)) {
      const lk = k.toLowerCase();
      if (ALWAYS.includes(k)) {
        out[k] = v;
        continue;
      }
      for (const w of want.map((x) => x.toLowerCase())) {
        // An extension's attributes are named by its URN: asking for any of them returns the extension.
        if (w === lk || (lk.startsWith('urn:') && w.startsWith(`${lk}:`))) {
          out[k] = v;
        } else if (w.startsWith(`${lk}.`) && typeof v === 'object' && v !== null && !Array.isArray(v)) {
          const sub = w.slice(lk.length + 1);
          const entry = Object.entries(v).find(([sk]) => sk.toLowerCase() === sub);
          if (entry) out[k] = { ...((out[k] as object) ?? {}), [entry[0]]: entry[1] };
        } else if (w.startsWith(`${lk}.`) && Array.isArray(v)) {
          const sub = w.slice(lk.length + 1);
          out[k] = v.map((item) => Object.fromEntries(Object.entries(item as object).filter(([sk]) => sk.toLowerCase() === sub)));
        }
      }
    }
  }
  if (drop.length > 0) {
    out = { ...out };
    for (const k of Object.keys(out)) if (!ALWAYS.includes(k) && drop.some((x) => x.toLowerCase() === k.toLowerCase())) delete out[k];
  }
  return out;
}
