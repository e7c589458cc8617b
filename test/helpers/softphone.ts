import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { freeTcpPort, freeUdpPort } from './ports';

/**
 * baresip, Debian's softphone, run headless as a person's phone would be:
 * one SIP account, PCMU, its microphone a WAV file (`source`), and what it
 * hears decoded and written to a WAV (the sndfile module) in its folder.
 * It is driven over its ctrl_tcp socket (JSON in netstrings): commands such
 * as `dial` and `sndcode`, and the events it reports (REGISTER_OK,
 * CALL_ESTABLISHED, CALL_CLOSED…).
 */
export interface SoftphoneAccount {
  user: string;
  password: string;
  domain: string;
  /** host:port of the registrar and proxy, the phone file's outbound proxy. */
  proxy: string;
}

interface Event {
  type: string;
  param?: string;
}

export class Softphone {
  private readonly events: Event[] = [];
  private readonly waiters: (() => void)[] = [];
  private buffer = '';
  private log = '';

  private constructor(readonly dir: string, child: ChildProcess, private readonly control: net.Socket) {
    child.stdout!.on('data', (b: Buffer) => (this.log += b));
    child.stderr!.on('data', (b: Buffer) => (this.log += b));
    control.on('data', (b: Buffer) => this.read(b.toString('utf8')));
  }

  static async start(t: Test, account: SoftphoneAccount, source: string): Promise<Softphone> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dialtone-baresip-'));
    const controlPort = await freeTcpPort();
    const rtp = 42000 + 2 * crypto.randomInt(0, 4000);
    fs.writeFileSync(path.join(dir, 'config'), [
      'poll_method epoll', `sip_listen 127.0.0.1:${await freeUdpPort()}`, 'sip_trans_def udp',
      // It hears through a bridge to nowhere: what it hears is the recording sndfile makes.
      'audio_player aubridge,nowhere', 'audio_alert aubridge,nowhere', `audio_source aufile,${source}`,
      'ausrc_srate 8000', 'auplay_srate 8000', 'ausrc_channels 1', 'auplay_channels 1', `rtp_ports ${rtp}-${rtp + 19}`,
      'module_path /usr/lib/baresip/modules', 'module g711.so', 'module aufile.so', 'module aubridge.so', 'module sndfile.so', `snd_path ${dir}`,
      'module_app account.so', 'module_app menu.so', 'module_app ctrl_tcp.so', `ctrl_tcp_listen 127.0.0.1:${controlPort}`, '',
    ].join('\n'));
    fs.writeFileSync(path.join(dir, 'accounts'), `<sip:${account.user}@${account.domain}>;auth_pass=${account.password};outbound="sip:${account.proxy}";regint=600;audio_codecs=PCMU\n`);
    // -n: its own address is the loopback's, so nothing it says points beyond this machine.
    const child = spawn('baresip', ['-n', '127.0.0.1', '-f', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    let control: net.Socket | null = null;
    t.teardown(async () => {
      control?.destroy();
      child.kill('SIGKILL');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    });
    for (let i = 0; ; i++) {
      control = await new Promise<net.Socket | null>((resolve) => {
        const s = net.connect(controlPort, '127.0.0.1', () => resolve(s));
        s.on('error', () => resolve(null));
      });
      if (control) return new Softphone(dir, child, control);
      if (i > 100 || child.exitCode !== null) throw new Error('baresip did not open its control socket');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private read(text: string): void {
    this.buffer += text;
    for (let m; (m = /^(\d+):/.exec(this.buffer)) && this.buffer.length > m[0].length + Number(m[1]);) {
      const body = this.buffer.slice(m[0].length, m[0].length + Number(m[1]));
      this.buffer = this.buffer.slice(m[0].length + Number(m[1]) + 1);
      const message = JSON.parse(body) as { event?: boolean; type?: string; param?: string };
      if (message.event) this.events.push({ type: message.type!, param: message.param });
    }
    for (const w of this.waiters.splice(0)) w();
  }

  command(command: string, params = ''): void {
    const json = JSON.stringify({ command, params, token: command });
    this.control.write(`${Buffer.byteLength(json)}:${json},`);
  }

  /** The first event of `type` (reported since start, or to come), or an error naming what baresip said. */
  async event(type: string, ms = 20_000): Promise<Event> {
    const end = Date.now() + ms;
    for (;;) {
      const found = this.events.find((e) => e.type === type);
      if (found) return found;
      if (Date.now() > end) throw new Error(`baresip reported no ${type} (events: ${this.events.map((e) => e.type).join(', ')}; output: ${this.log})`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  /** Registered with its account: said as an event, or on its console when that came before we were listening. */
  async registered(): Promise<void> {
    const end = Date.now() + 20_000;
    while (!this.events.some((e) => e.type === 'REGISTER_OK') && !/ 200 OK \(.*\) \[\d+ bindings?\]/.test(this.log)) {
      if (Date.now() > end) throw new Error(`baresip did not register: ${this.log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** What it heard of its first call, decoded: 16-bit samples at 8 kHz. */
  heard(): Int16Array {
    const file = fs.readdirSync(this.dir).find((f) => f.endsWith('-dec.wav'));
    if (!file) throw new Error('baresip recorded nothing');
    return readWav(path.join(this.dir, file));
  }
}

/** The samples of a 16-bit PCM WAV file, mono. */
export function readWav(file: string): Int16Array {
  const b = fs.readFileSync(file);
  const data = b.indexOf('data', 12);
  if (b.toString('latin1', 0, 4) !== 'RIFF' || data < 0 || b.readUInt16LE(34) !== 16) throw new Error(`${file} is not a 16-bit PCM WAV file`);
  const start = data + 8;
  // A recording still open says 0 bytes in its header: then it is what the file holds.
  const declared = b.readUInt32LE(data + 4);
  const bytes = (declared > 0 ? Math.min(declared, b.length - start) : b.length - start) & ~1;
  const out = new Int16Array(bytes / 2);
  for (let i = 0; i < out.length; i++) out[i] = b.readInt16LE(start + 2 * i);
  return out;
}
