import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createToken } from '../../daemon/admin/service/tokens';
import { openDatabase } from '../../daemon/storage/database';
import { freeTcpPort, freeUdpPort } from '../../test/helpers/ports';
import { ROOT, cpuMs, rssMb, startDaemon } from '../daemon';
import { seed } from '../seed';
import { readCapture, startCapture } from '../../test/helpers/pcap';
import { Caller, type CallerIdentity, SipClient, type StreamStats, StreamTimer } from './callers';

/**
 * The registration service under a crowd of callers, against sipp playing
 * the same prompt. N pending phones register with their activation
 * credentials, dial the registration service at once (the starts spread over
 * RAMP_MS), listen to the greeting and "enter your code", key their codes as
 * RFC 4733 events, and wait for the read-back, the hang-up and the reboot.
 * Every RTP packet dialtone sends is timed twice: by dumpcap on the loopback
 * (the kernel's time, which no receiver's delay touches: the figures the
 * targets are read on), and where the caller's socket receives it. Then the
 * same N callers dial a sipp UAS that plays the same prompt file
 * (rtp_stream), timed the same ways.
 * Usage: npm run build && npx ts-node-transpile-only bench/ivr/run.ts [calls] [checkout]
 * (`checkout`: another build of dialtone to run, to compare two in the same minutes).
 */
const CALLS = Number(process.argv[2] ?? 500);
const BUILD = process.argv[3] ?? ROOT;
const RAMP_MS = Number(process.env.BENCH_RAMP_MS ?? 2000);
const DOMAIN = 'activate.bench';
const SERVICE = '*8000';
// The greeting and "enter your code" last 3.94 s: the callers listen to all of it before keying.
const LISTEN_MS = 4500;
// dialtone's ports and sipp's, apart from each other and from the callers' (the kernel's ephemeral range).
const RTP_PORTS = { min: 20000, max: 20000 + 4 * CALLS + 99 };

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summary(stats: StreamStats[]): { packets: number; p50: number; p99: number; max: number; lost: number; skipped: number } {
  const all = stats.flatMap((s) => s.deviations).sort((a, b) => a - b);
  const sum = (f: (s: StreamStats) => number) => stats.reduce((n, s) => n + f(s), 0);
  return { packets: sum((s) => s.packets), p50: percentile(all, 50), p99: percentile(all, 99), max: all[all.length - 1] ?? NaN, lost: sum((s) => s.lost), skipped: sum((s) => s.skipped) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function inBatches<T>(items: T[], size: number, f: (item: T, i: number) => Promise<void>): Promise<void> {
  for (let start = 0; start < items.length; start += size) await Promise.all(items.slice(start, start + size).map((item, j) => f(item, start + j)));
}

/** Each caller's stream as dumpcap saw it go by: the RTP headers only (snap length 54: Ethernet, IPv4, UDP, RTP). */
const SNAPLEN = 54;
/**
 * dumpcap takes the streams of this many callers, spread over the crowd:
 * the kernel's filter leaves the others, so the capture costs the two cores
 * little (every stream leaves in the same 20 ms batch, so a sample shows the
 * batch's timing as well as all of them would).
 */
const WIRE_SAMPLE = Number(process.env.BENCH_WIRE_SAMPLE ?? 40);
function sampleFilter(from: { min: number; max: number }, callers: Caller[]): string {
  const step = Math.max(1, Math.floor(callers.length / WIRE_SAMPLE));
  const ports = callers.filter((_, i) => i % step === 0).slice(0, WIRE_SAMPLE).map((c) => `dst port ${c.mediaPort}`);
  return `udp and src host 127.0.0.1 and src portrange ${from.min}-${from.max} and (${ports.join(' or ')})`;
}
function wireStats(file: string, callers: Caller[]): StreamStats[] {
  const timers = new Map(callers.map((c) => [c.mediaPort, new StreamTimer()]));
  for (const d of readCapture(file)) timers.get(d.dstPort)?.push(d.at, d.data);
  return [...timers.values()].map((t) => t.stats).filter((s) => s.packets > 0);
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-bench-ivr-'));
  const secretKey = crypto.randomBytes(32).toString('hex');
  const dbUrl = `sqlite://${dir}/dialtone.sqlite`;
  const [httpPort, sipPort, peerPort, peerMedia] = [await freeTcpPort(), await freeUdpPort(), await freeUdpPort(), 25000];
  console.log(`seeding ${CALLS} extensions…`);
  await seed(dbUrl, secretKey, CALLS);
  const db = openDatabase(dbUrl);
  const tenant = await db.knex('tenants').first();
  const user = await db.knex('users').first();
  const extensions = (await db.knex('extensions').orderBy('number').select('id')) as { id: string }[];
  const { token } = await createToken(db.knex, { tenantId: tenant.id, userId: user.id, label: 'bench' });
  await db.close();

  const daemon = await startDaemon({
    DIALTONE_DATA_DIR: dir, DIALTONE_DB_URL: dbUrl, DIALTONE_SECRET_KEY: secretKey, DIALTONE_HTTP_HOST: '127.0.0.1', DIALTONE_HTTP_PORT: String(httpPort),
    DIALTONE_TFTP_HOST: '127.0.0.1', DIALTONE_TFTP_PORT: String(await freeUdpPort()), DIALTONE_SIP_HOST: '127.0.0.1', DIALTONE_SIP_PORT: String(sipPort),
    DIALTONE_SIP_TRANSPORTS: 'udp', DIALTONE_LOG_LEVEL: 'warn', DIALTONE_PUBLIC_URL: `http://127.0.0.1:${httpPort}`, DIALTONE_PROV_RATE_LIMIT: '100000',
    DIALTONE_ACTIVATION_DOMAIN: DOMAIN, DIALTONE_RTP_PORTS: `${RTP_PORTS.min}-${RTP_PORTS.max}`, ...(process.env.BENCH_REDIS ? { DIALTONE_REDIS_URL: process.env.BENCH_REDIS } : {}),
  }, httpPort, BUILD);
  const pid = daemon.child.pid!;
  try {
    const base = `http://127.0.0.1:${httpPort}`;
    const identities: CallerIdentity[] = [];
    const codes: string[] = [];
    console.log('pending phones fetch their activation files; codes are issued…');
    await inBatches(extensions, 50, async (ext, i) => {
      const mac = `0015aa${i.toString(16).padStart(6, '0')}`;
      const file = await (await fetch(`${base}/prov/${mac}.cfg`, { headers: { 'user-agent': `Yealink SIP-T46S 66.85.0.5 ${mac.match(/../g)!.join(':')}` } })).text();
      const conf = Object.fromEntries(file.split('\n').map((l) => l.split(' = ').map((s) => s.trim())));
      identities[i] = { user: conf['account.1.auth_name']!, password: conf['account.1.password']!, domain: DOMAIN };
      const code = await (await fetch(`${base}/api/v1/extensions/${ext.id}/activation-code`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).json() as { code: string };
      codes[i] = code.code;
    });

    const sipc = await SipClient.open({ host: '127.0.0.1', port: sipPort });
    const hungUp = new Map<string, () => void>();
    const rebooted = new Set<string>();
    sipc.onRequest((m) => {
      sipc.respond(m, 200, 'OK');
      if (m.method === 'BYE') hungUp.get(m.headers['call-id']!)?.();
      if (m.method === 'NOTIFY' && /reboot=true/.test(String(m.headers.event))) rebooted.add(m.headers.to!.uri);
    });
    const callers = identities.map((id) => new Caller(sipc, id));
    for (const c of callers) await c.openMedia();
    console.log(`${CALLS} phones register…`);
    await inBatches(callers, 50, (c) => c.register());

    const capture = await startCapture(path.join(dir, 'dialtone.pcap'), sampleFilter(RTP_PORTS, callers), { snaplen: SNAPLEN, maxSeconds: 600 });
    console.log(`${CALLS} calls to the registration service…`);
    let active = 0;
    let peak = 0;
    let callSeconds = 0;
    let failed = 0;
    const cpu0 = cpuMs(pid);
    const started = performance.now();
    await Promise.all(callers.map(async (c, i) => {
      await sleep((RAMP_MS * i) / CALLS);
      try {
        const bye = new Promise<void>((resolve, reject) => {
          hungUp.set(c.callIdValue, resolve);
          setTimeout(() => reject(new Error('no hang-up')), 60_000);
        });
        await c.dial(SERVICE);
        const t0 = performance.now();
        peak = Math.max(peak, ++active);
        await sleep(LISTEN_MS);
        await c.key(codes[i]!);
        await bye;
        active--;
        callSeconds += (performance.now() - t0) / 1000;
      } catch (err) {
        failed++;
        console.error(`call ${i}: ${(err as Error).message}`);
      }
    }));
    const wall = (performance.now() - started) / 1000;
    const cpu = cpuMs(pid) - cpu0;
    await sleep(2000);
    await capture.stop();
    const dialtone = summary(callers.map((c) => c.stats));
    const dialtoneWire = summary(wireStats(capture.file, callers));
    const rss = rssMb(pid);
    for (const c of callers) c.close();
    sipc.close();

    console.log(`the same ${CALLS} callers to a sipp UAS playing the same prompt…`);
    const prompt = path.join(dir, 'prompt.ulaw');
    fs.writeFileSync(prompt, Buffer.concat(['greeting', 'enter-code'].map((n) => fs.readFileSync(path.join(ROOT, 'prompts/en', `${n}.ulaw`)))));
    const scenario = path.join(dir, 'uas.xml');
    fs.writeFileSync(scenario, fs.readFileSync(path.join(__dirname, 'uas.xml'), 'utf8').replace('PROMPT_FILE', prompt));
    const sipp = spawn('sipp', ['-sf', scenario, '-i', '127.0.0.1', '-p', String(peerPort), '-mp', String(peerMedia), '-buff_size', String(4 * 1024 * 1024), '-max_socket', '10000', '-nostdin'], { stdio: 'ignore', cwd: dir });
    await sleep(1000);
    const peerClient = await SipClient.open({ host: '127.0.0.1', port: peerPort });
    const peerCallers = identities.map((id) => new Caller(peerClient, { ...id, domain: 'peer.bench' }));
    for (const c of peerCallers) await c.openMedia();
    const peerCapture = await startCapture(path.join(dir, 'peer.pcap'), sampleFilter({ min: peerMedia, max: peerMedia + 4 * CALLS + 99 }, peerCallers), { snaplen: SNAPLEN, maxSeconds: 600 });
    let peerFailed = 0;
    await Promise.all(peerCallers.map(async (c, i) => {
      await sleep((RAMP_MS * i) / CALLS);
      try {
        await c.dial('prompt');
        await sleep(LISTEN_MS);
        await c.bye();
      } catch (err) {
        peerFailed++;
        console.error(`peer call ${i}: ${(err as Error).message}`);
      }
    }));
    sipp.kill();
    await peerCapture.stop();
    const peer = summary(peerCallers.map((c) => c.stats));
    const peerWire = summary(wireStats(peerCapture.file, peerCallers));
    for (const c of peerCallers) c.close();
    peerClient.close();

    const ms = (n: number) => `${n.toFixed(2)} ms`;
    console.log(`
| ${CALLS} calls (peak ${peak} at once) | dialtone | sipp rtp_stream |
| --- | --- | --- |
| on the wire (dumpcap, ${WIRE_SAMPLE} streams): deviation from 20 ms, p50 | ${ms(dialtoneWire.p50)} | ${ms(peerWire.p50)} |
| on the wire: deviation from 20 ms, p99 | ${ms(dialtoneWire.p99)} | ${ms(peerWire.p99)} |
| on the wire: deviation, max | ${ms(dialtoneWire.max)} | ${ms(peerWire.max)} |
| on the wire: packets, lost (sequence gaps), skipped by the sender | ${dialtoneWire.packets}, ${dialtoneWire.lost}, ${dialtoneWire.skipped} | ${peerWire.packets}, ${peerWire.lost}, ${peerWire.skipped} |
| at the callers' sockets: deviation p50 / p99 / max | ${ms(dialtone.p50)} / ${ms(dialtone.p99)} / ${ms(dialtone.max)} | ${ms(peer.p50)} / ${ms(peer.p99)} / ${ms(peer.max)} |
| at the callers' sockets: packets, lost, skipped | ${dialtone.packets}, ${dialtone.lost}, ${dialtone.skipped} | ${peer.packets}, ${peer.lost}, ${peer.skipped} |
| calls failed | ${failed} | ${peerFailed} |
| codes recognized (phone hung up on and rebooted) | ${rebooted.size} of ${CALLS} | |
| dialtone CPU per call-second | ${((cpu / callSeconds) * 1000).toFixed(0)} µs (${cpu.toFixed(0)} ms over ${callSeconds.toFixed(0)} call-seconds, ${wall.toFixed(1)} s) | |
| dialtone RSS after the calls | ${rss} MB | |
p99 on the wire, sipp / dialtone: ${(peerWire.p99 / dialtoneWire.p99).toFixed(2)}; load average at the end ${os.loadavg()[0]!.toFixed(1)}`);
  } finally {
    await daemon.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
