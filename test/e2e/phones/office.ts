import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import sip, { type Message } from 'sip';
import { PROMPT_NAMES } from '../../../daemon/activation/entry';
import { builtinPromptsDir, loadPrompts } from '../../../daemon/media/prompts';
import { type Heard, heardAt, heardShare, sleep } from '../../helpers/phone';
import { type Datagram, readCapture, startCapture } from '../../helpers/pcap';
import { ROOT, run, startServe } from '../../helpers/serve';
import { Softphone } from '../../helpers/softphone';
import { hasBinary } from '../../provisioning/clients';

/**
 * An office on `dialtone serve` as deployed, for real phone programs:
 * a tenant with an extension whose user was given an activation code,
 * unknown phones that fetch their activation files, and dumpcap on the
 * loopback recording everything dialtone sends them (its RTP ports and its
 * SIP port), so what a phone heard is read back from the wire.
 */
const missing = ['baresip', 'sipp', 'dumpcap', 'sox'].filter((b) => !hasBinary(b));
export const skip = missing.length > 0 ? `${missing.join(', ')} not installed (.ci/apt-packages)` : false;

export const DOMAIN = 'activate.test';
export const SERVICE = '*8000';
export const prompts = loadPrompts(builtinPromptsDir(), 'en', PROMPT_NAMES);
export const ulaw = (name: (typeof PROMPT_NAMES)[number]) => prompts[name].PCMU;

export interface Office {
  url: string;
  sipPort: number;
  rtp: { min: number; max: number };
  token: string;
  /** An operator's token: a pending phone belongs to no tenant yet. */
  operator: string;
  extension: { id: string; username: string };
  /** A folder for this test's files. */
  dir: string;
  api(method: string, route: string, body?: unknown, as?: string): Promise<{ status: number; body: any }>;
}

export async function office(t: Test): Promise<Office> {
  const base = 50000 + 2 * crypto.randomInt(0, 2000);
  const rtp = { min: base, max: base + 39 };
  // baresip 1.0 (libre 1.x) gives up on a registrar that offers a SHA-256 challenge beside MD5: "Function not implemented".
  const d = await startServe(t, { DIALTONE_ACTIVATION_DOMAIN: DOMAIN, DIALTONE_RTP_PORTS: `${rtp.min}-${rtp.max}`, DIALTONE_SIP_DIGEST_ALGORITHMS: 'MD5' });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-phones-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const n = crypto.randomInt(100000, 999999);
  const tenantDomain = `office${n}.example.com`;
  const created = await run(process.execPath, [path.join(ROOT, 'dist/daemon/cli/main.js'), 'tenant', 'create', '--name', `Office ${n}`, '--domain', tenantDomain,
    '--admin-first', 'Ada', '--admin-last', 'Lovelace', '--admin-email', `ada@${tenantDomain}`], d.env);
  if (created.code !== 0) throw new Error(`tenant create: ${created.output}`);
  const token = (JSON.parse(created.output.slice(created.output.indexOf('{'))) as { token: string }).token;
  const operatorCreated = await run(process.execPath, [path.join(ROOT, 'dist/daemon/cli/main.js'), 'token', 'create', '--operator', '--label', 'phones test'], d.env);
  const operator = operatorCreated.output.match(/dt_[A-Za-z0-9_-]+/)?.[0];
  if (!operator) throw new Error(`token create: ${operatorCreated.output}`);
  const api = async (method: string, route: string, body?: unknown, as = token): Promise<{ status: number; body: any }> => {
    const r = await fetch(`${d.url}/api/v1${route}`, { method, headers: { authorization: `Bearer ${as}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    return { status: r.status, body: r.headers.get('content-type')?.includes('json') ? await r.json() : await r.text() };
  };
  const site = await api('POST', '/sites', { name: 'HQ', timezone: 'America/Chicago', language: 'en', address: { street: '1 Main St', city: 'Springfield', region: 'IL', postalCode: '62701', country: 'US' } });
  const user = await api('POST', '/users', { firstName: 'Grace', lastName: 'Hopper', email: `grace@${tenantDomain}`, siteId: site.body.id });
  const extension = await api('POST', '/extensions', { number: '1001', userId: user.body.id });
  const creds = await api('GET', `/extensions/${extension.body.id}/sip-credentials`);
  return { url: d.url, sipPort: Number(d.env.DIALTONE_SIP_PORT), rtp, token, operator, extension: { id: extension.body.id, username: creds.body.username }, dir, api };
}

export async function issueCode(o: Office): Promise<string> {
  return (await o.api('POST', `/extensions/${o.extension.id}/activation-code`)).body.code as string;
}

/** The phone's file as it fetches it at boot, as key = value pairs (a Yealink T46S). */
export async function phoneFile(o: Office, mac: string): Promise<Record<string, string>> {
  const r = await fetch(`${o.url}/prov/${mac}.cfg`, { headers: { 'user-agent': `Yealink SIP-T46S 66.85.0.5 ${mac.match(/../g)!.join(':')}` } });
  if (r.status !== 200) throw new Error(`/prov/${mac}.cfg: ${r.status}`);
  return Object.fromEntries((await r.text()).split('\n').map((l) => l.split(' = ').map((s) => s.trim())).filter((kv) => kv.length === 2));
}

/** An unknown phone's activation account, from the activation file it is served. */
export async function unknownPhone(o: Office, mac: string): Promise<{ user: string; password: string; domain: string; proxy: string }> {
  const file = await phoneFile(o, mac);
  return { user: file['account.1.auth_name']!, password: file['account.1.password']!, domain: file['account.1.sip_server.1.address']!, proxy: `127.0.0.1:${file['account.1.outbound_proxy.1.port']}` };
}

/** `seconds` of silence at 8 kHz, 16 bits: a quiet microphone. */
export function silenceWav(o: Office, seconds = 90): string {
  const file = path.join(o.dir, `silence-${seconds}.wav`);
  if (!fs.existsSync(file)) execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', file, 'trim', '0', String(seconds)]);
  return file;
}

const ROW: Record<string, number> = { 1: 697, 2: 697, 3: 697, 4: 770, 5: 770, 6: 770, 7: 852, 8: 852, 9: 852, 0: 941 };
const COL: Record<string, number> = { 1: 1209, 2: 1336, 3: 1477, 4: 1209, 5: 1336, 6: 1477, 7: 1209, 8: 1336, 9: 1477, 0: 1336 };

/** A microphone that is silent for `leadSeconds`, then keys `digits` as tones (100 ms each, 100 ms apart), made by sox. */
export function tonesWav(o: Office, digits: string, leadSeconds: number): string {
  const parts = [path.join(o.dir, 'lead.wav')];
  execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', parts[0]!, 'trim', '0', String(leadSeconds)]);
  for (const [i, d] of [...digits].entries()) {
    const file = path.join(o.dir, `key-${i}.wav`);
    execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', file, 'synth', '0.1', 'sine', String(ROW[d]), 'sine', 'mix', String(COL[d]), 'gain', '-n', '-8', 'pad', '0', '0.1']);
    parts.push(file);
  }
  const out = path.join(o.dir, `tones-${digits}.wav`);
  execFileSync('sox', [...parts, silenceWav(o), out]);
  return out;
}

/** dumpcap on what dialtone sends and receives: its RTP ports and its SIP port. */
export async function watch(t: Test, o: Office, name: string): Promise<{ stop(): Promise<Datagram[]> }> {
  const file = path.join(o.dir, `${name}.pcap`);
  const capture = await startCapture(file, `udp and (src portrange ${o.rtp.min}-${o.rtp.max} or port ${o.sipPort})`);
  t.teardown(() => capture.stop());
  return {
    async stop() {
      await capture.stop();
      return readCapture(file);
    },
  };
}

/** The audio ports in the SDP of SIP messages, those dialtone sent or those it was sent. */
function sdpPorts(messages: { fromDialtone: boolean; message: Message }[], fromDialtone: boolean): Set<number> {
  const ports = new Set<number>();
  for (const m of messages) {
    const port = m.fromDialtone === fromDialtone ? /^m=audio (\d+) /m.exec(String(m.message.content ?? ''))?.[1] : undefined;
    if (port) ports.add(Number(port));
  }
  return ports;
}

/**
 * dialtone's RTP in a capture, packet by packet as the phone was sent it: from
 * the ports dialtone's SDP named to those the phone's named. Other test files'
 * daemons may send from the same port range on the loopback meanwhile.
 */
export function rtpHeard(o: Office, datagrams: Datagram[]): Heard[] {
  const messages = sipMessages(o, datagrams);
  const ours = sdpPorts(messages, true);
  const phones = sdpPorts(messages, false);
  return datagrams.filter((d) => ours.has(d.srcPort) && phones.has(d.dstPort) && d.srcPort >= o.rtp.min && d.srcPort <= o.rtp.max && d.data.length >= 12 && d.data[0]! >> 6 === 2).map((d) => ({
    payloadType: d.data[1]! & 0x7f, sequence: d.data.readUInt16BE(2), timestamp: d.data.readUInt32BE(4), ssrc: d.data.readUInt32BE(8), payload: d.data.subarray(12),
  }));
}

/** The SIP messages dialtone sent, and those it was sent, in a capture. */
export function sipMessages(o: Office, datagrams: Datagram[]): { fromDialtone: boolean; message: Message }[] {
  return datagrams.filter((d) => d.srcPort === o.sipPort || d.dstPort === o.sipPort).flatMap((d) => {
    const message = sip.parse(d.data.toString('latin1'));
    return message ? [{ fromDialtone: d.srcPort === o.sipPort, message }] : [];
  });
}

/** What a person keying the right code hears, read back from the wire: greeting, "enter your code", the code, "thank you", in that order. */
export function heardActivation(t: Test, heard: Heard[], code: string): void {
  t.ok(heard.length > 0 && heard.every((h) => h.payloadType === 0), 'dialtone sent the phone PCMU');
  t.ok(heardShare(heard, ulaw('greeting')) > 0.9, 'the phone was sent the greeting, frame for frame');
  t.ok(heardShare(heard, ulaw('enter-code')) > 0.9, 'then "enter your code"');
  t.ok(heardAt(heard, ulaw('greeting')) < heardAt(heard, ulaw('enter-code')), 'in that order');
  for (const d of new Set(code)) t.ok(heardShare(heard, ulaw(`digit-${d}` as 'digit-0')) > 0.8, `the code is read back (digit ${d})`);
  t.ok(heardShare(heard, ulaw('thank-you')) > 0.9, '"thank you, your phone will now restart"');
  t.ok(heardAt(heard, ulaw('thank-you')) > heardAt(heard, ulaw(`digit-${code[9]}` as 'digit-0')), 'after the read-back');
  t.ok(heardShare(heard, ulaw('code-not-valid')) < 0.1, 'and never "not valid"');
}

/**
 * The phone was activated and rebooted: dialtone hung up and sent the
 * reboot NOTIFY to where the phone registered, the phone is bound to the
 * code's extension, and once restarted it fetches its file, which now
 * carries the extension's account, and registers with it.
 */
export async function activatedAndRebooted(t: Test, o: Office, mac: string, messages: { fromDialtone: boolean; message: Message }[]): Promise<Record<string, string>> {
  t.ok(messages.some((m) => m.fromDialtone && m.message.method === 'BYE'), 'dialtone hung up');
  const reboot = messages.find((m) => m.fromDialtone && m.message.method === 'NOTIFY' && m.message.headers.event === 'check-sync;reboot=true');
  t.ok(reboot, 'and told the phone to reboot (NOTIFY, Event: check-sync;reboot=true)');
  const device = (await o.api('GET', `/devices?mac=${mac}`)).body.items[0];
  t.equal(device?.extensionId, o.extension.id, 'the phone is bound to the extension of the code');
  const file = await phoneFile(o, mac);
  t.equal(file['account.1.user_name'], o.extension.username, 'rebooted, it fetches its file: the extension\'s account');
  const events = (await o.api('GET', `/devices/${device.id}/events`)).body.items as { kind: string; result: string }[];
  t.ok(events.some((e) => e.kind === 'assigned' && e.result === 'activated'), 'the activation is in its timeline');
  return file;
}

/** The restarted phone registers with the extension's account from its new file (baresip, as the phone). */
export async function registersAsExtension(t: Test, o: Office, file: Record<string, string>): Promise<void> {
  const phone = await Softphone.start(t, { user: file['account.1.auth_name']!, password: file['account.1.password']!, domain: file['account.1.sip_server.1.address']!, proxy: `127.0.0.1:${o.sipPort}` }, silenceWav(o));
  await phone.registered();
  const bindings = (await o.api('GET', `/extensions/${o.extension.id}/registrations`)).body.items as unknown[];
  t.equal(bindings.length, 1, 'and registers with it: the extension has the phone\'s registration');
}

export { sleep };
