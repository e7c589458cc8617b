import crypto from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { ToneDetector } from './dtmf-tones';
import { decodeG711 } from './g711';
import type { PacedStream, Pacer } from './pacer';
import type { MediaPorts, PortPool } from './ports';
import { FRAME_BYTES, type Prompt } from './prompts';
import { readRtp, writeRtp } from './rtp';
import type { AudioChoice, CodecName } from './sdp';

/** Twenty-five packets per 20 ms frame is far beyond a phone's audio and events: beyond that, a flood. */
const MAX_PACKETS_PER_FRAME = 25;
const FRAME_SAMPLES = 160;

export interface MediaEvents {
  /** An RFC 4733 telephone-event packet's payload. */
  event(payload: Buffer, timestamp: number): void;
  /** A DTMF digit heard in the audio. */
  tone(digit: string): void;
  /** The prompts given to play() have all been played. */
  played(): void;
}

/**
 * The audio of one call: plays prompts in the codec negotiated, paced by
 * the shared Pacer, and hands up what the phone keys. Symmetric RTP (RFC
 * 4961): the first packet from the phone's signalled media address or its
 * SIP address fixes where we send, so a phone behind NAT hears us; before
 * that, packets from anywhere else are dropped, and we send only to a media
 * address that is the phone's own SIP address, so an offer cannot aim our
 * audio at a third party.
 */
export class MediaSession implements PacedStream {
  private choice: AudioChoice | null = null;
  private latched: { address: string; port: number } | null = null;
  private queue: Prompt[] = [];
  private position = 0;
  private playing = false;
  private sending = false;
  private marker = true;
  private sequence = crypto.randomInt(0, 0x10000);
  private timestamp = crypto.randomInt(0, 2 ** 32);
  private readonly ssrc = crypto.randomInt(1, 2 ** 32);
  private readonly tones = new ToneDetector();
  /** Two packets written in turn, so a frame costs no allocation: each is rewritten only once its send has left the socket. */
  private readonly packets = [0, 1].map(() => this.packet());
  private turn = 0;
  private readonly samples = new Int16Array(FRAME_SAMPLES * 3);
  private window = 0;
  private windowCount = 0;
  private closed = false;

  constructor(
    private readonly ports: MediaPorts,
    private readonly pool: PortPool,
    private readonly pacer: Pacer,
    private readonly o: { signallingAddress: string; silence: Prompt; events: MediaEvents },
  ) {
    ports.rtp.on('message', (packet, from) => this.receive(packet, from.address, from.port));
    // RTCP is tolerated, not used: reports about our stream change nothing here.
    ports.rtcp.on('message', () => undefined);
    for (const s of [ports.rtp, ports.rtcp]) s.on('error', () => undefined);
  }

  get port(): number {
    return this.ports.port;
  }

  get codec(): CodecName | null {
    return this.choice?.codec ?? null;
  }

  /** Takes a negotiated stream (the first, or a re-INVITE's); a new address or port unlatches. */
  use(choice: AudioChoice): void {
    const before = this.choice;
    if (!before || before.remote.address !== choice.remote.address || before.remote.port !== choice.remote.port) this.latched = null;
    if (before && before.send !== choice.send) this.marker = true;
    this.choice = choice;
  }

  /** Starts the stream (at the ACK): from now on a frame goes out each tick. */
  start(): void {
    if (this.closed || this.sending) return;
    this.sending = true;
    this.pacer.add(this);
  }

  /** Replaces whatever is playing. */
  play(prompts: Prompt[]): void {
    this.queue = prompts;
    this.position = 0;
    this.playing = prompts.length > 0;
  }

  /** A key press cuts the prompt short: silence follows, and played() is not called. */
  interrupt(): void {
    this.queue = [];
    this.position = 0;
    this.playing = false;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pacer.remove(this);
    this.pool.release(this.ports);
  }

  frame(skipped: number): void {
    const c = this.choice;
    this.timestamp = (this.timestamp + FRAME_SAMPLES * (skipped + 1)) >>> 0;
    if (!c || !c.send) return;
    const to = this.latched ?? (c.remote.address === this.o.signallingAddress ? c.remote : null);
    if (!to) {
      this.next(skipped, c.codec, null);
      return;
    }
    const socket = this.ports.rtp;
    // A send the kernel could not take at once is still queued and holds its packet: this frame gets a new one.
    const packet = socket.getSendQueueCount() === 0 ? this.packets[(this.turn ^= 1)]! : this.packet();
    packet[1] = (this.marker ? 0x80 : 0) | c.payloadType;
    packet.writeUInt16BE(this.sequence, 2);
    packet.writeUInt32BE(this.timestamp, 4);
    this.next(skipped, c.codec, packet);
    this.marker = false;
    this.sequence = (this.sequence + 1) & 0xffff;
    socket.send(packet, to.port, to.address);
  }

  /** A packet with this stream's fixed header fields written (version 2, SSRC). */
  private packet(): Buffer {
    const b = Buffer.alloc(12 + FRAME_BYTES);
    writeRtp(b, { payloadType: 0, marker: false, sequence: 0, timestamp: 0, ssrc: this.ssrc }, Buffer.alloc(0));
    return b;
  }

  /** This tick's 20 ms of the prompts, `skipped` frames further on than the last one, copied into `packet`'s payload. */
  private next(skipped: number, codec: CodecName, packet: Buffer | null): void {
    this.position += skipped;
    while (this.playing) {
      const audio = this.queue[0]![codec];
      const offset = this.position * FRAME_BYTES;
      if (offset < audio.length) {
        this.position++;
        packet && audio.copy(packet, 12, offset, offset + FRAME_BYTES);
        return;
      }
      this.position -= audio.length / FRAME_BYTES;
      this.queue = this.queue.slice(1);
      if (this.queue.length === 0) {
        this.playing = false;
        this.position = 0;
        queueMicrotask(() => this.o.events.played());
      }
    }
    packet && this.o.silence[codec].copy(packet, 12, 0, FRAME_BYTES);
  }

  private receive(packet: Buffer, address: string, port: number): void {
    const c = this.choice;
    if (!c || this.closed || this.flooded()) return;
    if (this.latched) {
      if (this.latched.address !== address || this.latched.port !== port) return;
    } else if (address !== c.remote.address && address !== this.o.signallingAddress) {
      return;
    }
    // Junk, and RTCP multiplexed on the RTP port (RFC 5761), read as no packet: tolerated, changing nothing.
    const rtp = readRtp(packet);
    if (!rtp) return;
    if (rtp.payloadType !== c.payloadType && rtp.payloadType !== c.telephoneEvent) return;
    this.latched ??= { address, port };
    if (rtp.payloadType === c.telephoneEvent) {
      this.o.events.event(rtp.payload, rtp.timestamp);
    } else if (c.codec !== 'G722' && rtp.payload.length <= this.samples.length) {
      const n = decodeG711(c.codec, rtp.payload, this.samples);
      const digit = this.tones.push(this.samples, n);
      if (digit) this.o.events.tone(digit);
    }
  }

  private flooded(): boolean {
    const w = Math.floor(performance.now() / 20);
    if (w !== this.window) {
      this.window = w;
      this.windowCount = 0;
    }
    return ++this.windowCount > MAX_PACKETS_PER_FRAME;
  }
}
