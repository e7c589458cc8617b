import fs from 'node:fs';
import path from 'node:path';
import { cpuMs, rssMb } from '../daemon';
import type { SoakNode } from './cluster';

/**
 * Each node's memory and event loop, every SOAK_SAMPLE_SECONDS (30) for
 * <seconds>: resident set from /proc, and from the node's own /metrics (its
 * DIALTONE_METRICS_LISTEN, scraped by nothing else, so each scrape's
 * event-loop figures cover the interval since the previous one: prom-client
 * resets its delay histogram when read) the loop delay's p99 and max, the
 * heap (used and reserved) and external memory, and CPU. Appends to <work>/samples.csv; at the end writes
 * <work>/memory.json: per node the RSS at start, min, max and end, and its
 * slope per hour over the samples after the warm-up (the first sixth of the
 * run, at most 10 minutes: the first registrations, calls and caches filling).
 *   npx ts-node-transpile-only bench/soak/sample.ts <work dir> <seconds>
 */
const [work, secondsText] = process.argv.slice(2) as [string, string];
const seconds = Number(secondsText);
const every = Number(process.env.SOAK_SAMPLE_SECONDS ?? 30);

interface Sample { t: number; node: string; rssMb: number; heapMb: number; heapTotalMb: number; externalMb: number; loopP99Ms: number; loopMaxMs: number; cpuS: number }

async function scrape(node: SoakNode): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${node.metrics}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(nodejs_eventloop_lag_p99_seconds|nodejs_eventloop_lag_max_seconds|nodejs_heap_size_used_bytes|nodejs_heap_size_total_bytes|nodejs_external_memory_bytes) (\S+)$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Least-squares slope of y over t (seconds), per hour. */
function slopePerHour(points: { t: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const num = points.reduce((a, p) => a + (p.t - mt) * (p.y - my), 0);
  const den = points.reduce((a, p) => a + (p.t - mt) ** 2, 0);
  return den === 0 ? 0 : (num / den) * 3600;
}

const mb = (bytes: number | undefined) => Math.round((bytes ?? 0) / 1048576);
const percentile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))] ?? 0;

async function main(): Promise<void> {
  const nodes = JSON.parse(fs.readFileSync(path.join(work, 'nodes.json'), 'utf8')) as SoakNode[];
  const csv = path.join(work, 'samples.csv');
  fs.writeFileSync(csv, 't_s,node,rss_mb,heap_used_mb,heap_total_mb,external_mb,loop_p99_ms,loop_max_ms,cpu_s\n');
  const samples: Sample[] = [];
  // The first scrape only empties the delay histogram of the set-up's delays.
  await Promise.all(nodes.map(scrape));
  const started = Date.now();
  for (let i = 0; ; i++) {
    const t = Math.round((Date.now() - started) / 1000);
    for (const node of nodes) {
      const m = await scrape(node);
      const s: Sample = {
        t, node: node.name, rssMb: rssMb(node.pid), heapMb: mb(m.nodejs_heap_size_used_bytes),
        heapTotalMb: mb(m.nodejs_heap_size_total_bytes), externalMb: mb(m.nodejs_external_memory_bytes),
        loopP99Ms: Math.round((m.nodejs_eventloop_lag_p99_seconds ?? 0) * 1000), loopMaxMs: Math.round((m.nodejs_eventloop_lag_max_seconds ?? 0) * 1000),
        cpuS: Math.round(cpuMs(node.pid) / 1000),
      };
      samples.push(s);
      fs.appendFileSync(csv, `${s.t},${s.node},${s.rssMb},${s.heapMb},${s.heapTotalMb},${s.externalMb},${s.loopP99Ms},${s.loopMaxMs},${s.cpuS}\n`);
    }
    if (t >= seconds) break;
    const wait = started + (i + 1) * every * 1000 - Date.now();
    await new Promise((r) => setTimeout(r, Math.max(0, wait)));
  }
  const warmup = Math.min(600, seconds / 6);
  const summary = nodes.map((node) => {
    const own = samples.filter((s) => s.node === node.name);
    const rss = own.map((s) => s.rssMb);
    const settled = own.filter((s) => s.t >= warmup);
    const p99s = own.slice(1).map((s) => s.loopP99Ms);
    return {
      node: node.name, samples: own.length,
      rssMb: { start: rss[0], min: Math.min(...rss), max: Math.max(...rss), end: rss[rss.length - 1] },
      rssSlopeMbPerHourAfterWarmup: Math.round(slopePerHour(settled.map((s) => ({ t: s.t, y: s.rssMb }))) * 10) / 10,
      heapSlopeMbPerHourAfterWarmup: Math.round(slopePerHour(settled.map((s) => ({ t: s.t, y: s.heapMb }))) * 10) / 10,
      warmupSeconds: Math.round(warmup),
      loopP99Ms: { median: percentile(p99s, 0.5), max: Math.max(0, ...p99s) },
      loopMaxMs: Math.max(0, ...own.slice(1).map((s) => s.loopMaxMs)),
      cpuSeconds: (own[own.length - 1]?.cpuS ?? 0) - (own[0]?.cpuS ?? 0),
    };
  });
  fs.writeFileSync(path.join(work, 'memory.json'), JSON.stringify(summary));
}

void main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
