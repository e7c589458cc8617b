import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { SoakPhone } from './cluster';

/**
 * The phones' hourly resync: each phone (from <work>/fetches.json) fetches its
 * file once an hour from its node, with its User-Agent, answering the digest
 * challenge with its provisioning credentials, as a Yealink does. The fetches
 * are spread evenly: PHONES / 3600 a second, for <seconds>. Writes
 * <work>/fetch.json (counts, failures by answer, p99) and every failure to
 * <work>/fetch-errors.log.
 *   npx ts-node-transpile-only bench/soak/fetch.ts <work dir> <seconds>
 */
const [work, secondsText] = process.argv.slice(2) as [string, string];
const seconds = Number(secondsText);
const md5 = (s: string) => crypto.createHash('md5').update(s).digest('hex');

/** One fetch: the challenge, then the file. Resolves to "ok" or what went wrong. */
async function resync(p: SoakPhone, latencies: number[]): Promise<string> {
  const uri = `/prov/${p.file}`;
  const url = `http://127.0.0.1:${p.http}${uri}`;
  const first = await fetch(url, { headers: { 'user-agent': p.userAgent } });
  await first.arrayBuffer();
  if (first.status !== 401) return `challenge answered ${first.status}`;
  const nonce = /nonce="([^"]+)"/.exec(first.headers.get('www-authenticate') ?? '')?.[1];
  const realm = /realm="([^"]+)"/.exec(first.headers.get('www-authenticate') ?? '')?.[1];
  if (!nonce || !realm) return 'challenge without a digest nonce';
  const cnonce = crypto.randomBytes(8).toString('hex');
  const response = md5(`${md5(`${p.provUsername}:${realm}:${p.provPassword}`)}:${nonce}:00000001:${cnonce}:auth:${md5(`GET:${uri}`)}`);
  const started = performance.now();
  const res = await fetch(url, {
    headers: {
      'user-agent': p.userAgent,
      authorization: `Digest username="${p.provUsername}", realm="${realm}", nonce="${nonce}", uri="${uri}", qop=auth, nc=00000001, cnonce="${cnonce}", response="${response}"`,
    },
  });
  const body = await res.text();
  latencies.push(performance.now() - started);
  if (res.status !== 200) return `file answered ${res.status}`;
  return body.includes(`static.auto_provision.server.username = ${p.provUsername}`) ? 'ok' : 'file is not the phone\'s';
}

async function main(): Promise<void> {
  const phones = JSON.parse(fs.readFileSync(path.join(work, 'fetches.json'), 'utf8')) as SoakPhone[];
  // Each phone once an hour, in an order unrelated to the registrations'.
  for (let i = phones.length - 1; i > 0; i--) {
    const j = crypto.randomInt(i + 1);
    [phones[i], phones[j]] = [phones[j]!, phones[i]!];
  }
  const perSecond = phones.length / 3600;
  const due = Math.min(phones.length, Math.floor(seconds * perSecond));
  const outcomes = new Map<string, number>();
  const latencies: number[] = [];
  const errors = fs.createWriteStream(path.join(work, 'fetch-errors.log'));
  const started = Date.now();
  const pending = new Set<Promise<void>>();
  for (let i = 0; i < due; i++) {
    const wait = started + (i / perSecond) * 1000 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const p = phones[i]!;
    const job = resync(p, latencies)
      .catch((err: unknown) => `no answer (${(err as Error).message})`)
      .then((outcome) => {
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        if (outcome !== 'ok') errors.write(`${new Date().toISOString()} node ${p.node} ${p.file}: ${outcome}\n`);
      })
      .finally(() => pending.delete(job));
    pending.add(job);
  }
  await Promise.all(pending);
  errors.end();
  latencies.sort((a, b) => a - b);
  const ok = outcomes.get('ok') ?? 0;
  outcomes.delete('ok');
  const summary = {
    fetches: ok + [...outcomes.values()].reduce((a, b) => a + b, 0), ok,
    failures: Object.fromEntries(outcomes),
    p99Ms: Math.round(latencies[Math.floor(latencies.length * 0.99)] ?? 0),
    maxMs: Math.round(latencies[latencies.length - 1] ?? 0),
  };
  fs.writeFileSync(path.join(work, 'fetch.json'), JSON.stringify(summary));
}

void main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
