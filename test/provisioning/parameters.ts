import fs from 'node:fs';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';

/**
 * The parameter names a rendered file sets, spelled as the source table
 * (provisioning-templates/SOURCES.md) lists them: an index inside a name
 * becomes N (`account.N.enable`, `Line_Enable_N_`), Grandstream's line
 * keys, two P-numbers apart from key to key, become `P1363+2k` and the like,
 * and HT81x port rows `P4060+i`.
 */
export function parametersOf(family: string, text: string): Set<string> {
  const names = new Set<string>();
  if (text.trimStart().startsWith('<?xml')) {
    const walk = (node: unknown) => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (node === null || typeof node !== 'object') return;
      for (const [k, v] of Object.entries(node)) {
        if (k === '#text' || k === '?xml') continue;
        names.add(k.startsWith('@_') ? k.slice(2) : k);
        walk(v);
      }
    };
    walk(new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_' }).parse(text));
  } else {
    for (const line of text.split('\n')) {
      if (line.startsWith('#') || line.trim() === '' || line.startsWith('<<')) continue;
      const kv = /^([^=:<]+?)\s*(?:=|:)/.exec(line);
      if (kv) names.add(kv[1]!.trim());
      else names.add(line.trim());
    }
  }
  return new Set([...names].map((n) => normalize(family, n)));
}

function normalize(family: string, name: string): string {
  if (family === 'grandstream' && /^P\d+$/.test(name)) {
    const n = Number(name.slice(1));
    if (n >= 1363 && n < 1465) return (n - 1363) % 2 === 0 ? 'P1363+2k' : 'P1364+2k';
    if (n >= 1465 && n < 1565) return (n - 1465) % 2 === 0 ? 'P1465+2k' : 'P1466+2k';
    // HT81x port rows: one P-number apart from port to port, eight ports at most.
    for (const base of [4060, 4090, 4120, 4150, 4180, 4595]) if (n >= base && n < base + 8) return `P${base}+i`;
    return name;
  }
  return name.replace(/\d+/g, 'N');
}

/** `| family | parameter | … |` rows of the source table, as family → parameter → the rest of the row. */
export function sourceTable(file = path.join(__dirname, '..', '..', 'provisioning-templates', 'SOURCES.md')): Map<string, Map<string, string[]>> {
  const table = new Map<string, Map<string, string[]>>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    if (cells.length < 3 || cells[0] === 'family' || /^-+$/.test(cells[0]!)) continue;
    const [family, parameter, ...rest] = cells;
    const params = table.get(family!) ?? new Map<string, string[]>();
    params.set(parameter!.replace(/^`|`$/g, ''), rest);
    table.set(family!, params);
  }
  return table;
}
