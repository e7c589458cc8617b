import net from 'node:net';

/**
 * SDP offer/answer (RFC 3264) for one audio stream: PCMU, PCMA or G.722,
 * with telephone-event/8000 for key presses. A description from a phone is
 * hostile input: it is bounded, each line is checked, and what cannot be
 * used is refused with the line and the reason.
 */
export type CodecName = 'PCMU' | 'PCMA' | 'G722';
export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** Static payload types (RFC 3551). */
const STATIC: Record<number, CodecName> = { 0: 'PCMU', 8: 'PCMA', 9: 'G722' };
/** Wideband first: a phone that has G.722 sounds better with it. */
const OFFER_ORDER = [9, 0, 8];
const OUR_TELEPHONE_EVENT = 101;
const MAX_SDP_BYTES = 16 * 1024;
/** A phone offers audio and perhaps video; more than this is not a phone. */
const MAX_MEDIA = 8;
/** No phone receives RTP on a privileged port; an offer that says so points our audio at someone else's service. */
const MIN_PORT = 1024;

export interface MediaDescription {
  kind: string;
  port: number;
  proto: string;
  formats: string[];
  address: string | null;
  direction: Direction;
  /** Dynamic payload types by encoding name, lower-cased with the clock rate: `telephone-event/8000`. */
  rtpmap: Map<number, string>;
}

export interface SessionDescription {
  media: MediaDescription[];
}

export interface AudioChoice {
  /** Index of the audio stream among the description's media lines. */
  index: number;
  codec: CodecName;
  payloadType: number;
  telephoneEvent: number | null;
  remote: { address: string; port: number };
  /** Whether we may send to the phone now (false on hold). */
  send: boolean;
  /** Our direction in the answer. */
  direction: Direction;
}

export type Result<T> = { ok: true; value: T } | { ok: false; reason: string };

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

export function parseSdp(text: string): Result<SessionDescription> {
  if (Buffer.byteLength(text) > MAX_SDP_BYTES) return fail(`SDP larger than ${MAX_SDP_BYTES} bytes`);
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  let sessionAddress: string | null = null;
  let sessionDirection: Direction = 'sendrecv';
  const media: MediaDescription[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const at = `SDP line ${i + 1}`;
    if (!/^[a-z]=/.test(line)) return fail(`${at}: not <type>=<value>`);
    const value = line.slice(2);
    const current = media[media.length - 1];
    if (line[0] === 'm') {
      if (media.length === MAX_MEDIA) return fail(`${at}: more than ${MAX_MEDIA} media lines`);
      const m = /^([a-z]{1,16}) (\d{1,5})(?:\/\d{1,2})? ([A-Za-z0-9/]{1,32})((?: [^ ]{1,32}){1,32})$/.exec(value);
      if (!m) return fail(`${at}: malformed m= line`);
      const port = Number(m[2]);
      if (port > 65535 || (port !== 0 && port < MIN_PORT)) return fail(`${at}: port ${port} is out of range`);
      media.push({ kind: m[1]!, port, proto: m[3]!, formats: m[4]!.trim().split(' '), address: null, direction: sessionDirection, rtpmap: new Map() });
    } else if (line[0] === 'c') {
      const c = /^IN (IP4|IP6) ([^ /]{1,45})$/.exec(value);
      if (!c || net.isIP(c[2]!) !== (c[1] === 'IP4' ? 4 : 6)) return fail(`${at}: connection address is not an IPv4 or IPv6 address`);
      if (current) current.address = c[2]!;
      else sessionAddress = c[2]!;
    } else if (line[0] === 'a') {
      const dir = /^(sendrecv|sendonly|recvonly|inactive)$/.exec(value)?.[1] as Direction | undefined;
      if (dir && current) current.direction = dir;
      else if (dir) sessionDirection = dir;
      const map = /^rtpmap:(\d{1,3}) ([A-Za-z0-9_.-]{1,32}\/\d{1,6})/.exec(value);
      if (map && current) current.rtpmap.set(Number(map[1]), map[2]!.toLowerCase());
    }
  }
  for (const m of media) m.address ??= sessionAddress;
  return { ok: true, value: { media } };
}

function codecOf(m: MediaDescription, format: string): CodecName | null {
  if (!/^\d{1,3}$/.test(format)) return null;
  const pt = Number(format);
  const mapped = m.rtpmap.get(pt);
  if (mapped === undefined) return STATIC[pt] ?? null;
  return ({ 'pcmu/8000': 'PCMU', 'pcma/8000': 'PCMA', 'g722/8000': 'G722' } as Record<string, CodecName>)[mapped] ?? null;
}

const OPPOSITE: Record<Direction, Direction> = { sendrecv: 'sendrecv', sendonly: 'recvonly', recvonly: 'sendonly', inactive: 'inactive' };

/**
 * The audio stream we take from a phone's description (an offer, or the
 * answer to ours): its first audio line with a port, in the phone's order of
 * preference among the codecs we have.
 */
export function chooseAudio(d: SessionDescription): Result<AudioChoice> {
  const index = d.media.findIndex((m) => m.kind === 'audio' && m.port !== 0 && /^(RTP\/AVP|RTP\/AVPF)$/.test(m.proto));
  if (index < 0) return fail('no RTP/AVP audio stream');
  const m = d.media[index]!;
  if (!m.address) return fail('the audio stream has no connection address');
  let codec: CodecName | null = null;
  let payloadType = -1;
  for (const f of m.formats) {
    codec = codecOf(m, f);
    if (codec) {
      payloadType = Number(f);
      break;
    }
  }
  if (!codec) return fail('no common codec: dialtone speaks PCMU, PCMA and G722');
  const te = [...m.rtpmap].find(([pt, name]) => name === 'telephone-event/8000' && m.formats.includes(String(pt)));
  // An old-style hold (RFC 2543) sets the address to 0.0.0.0 instead of a direction.
  const held = m.address === '0.0.0.0' || m.address === '::';
  const direction = held && m.direction === 'sendrecv' ? 'recvonly' : OPPOSITE[m.direction];
  return {
    ok: true,
    value: {
      index, codec, payloadType, telephoneEvent: te ? te[0] : null,
      remote: { address: m.address, port: m.port },
      send: !held && (direction === 'sendrecv' || direction === 'sendonly'),
      direction,
    },
  };
}

export interface LocalMedia {
  address: string;
  port: number;
  sessionId: number;
  /** o= version: one more for each new description in the same call. */
  version: number;
}

function head(local: LocalMedia): string[] {
  const family = local.address.includes(':') ? 'IP6' : 'IP4';
  return ['v=0', `o=dialtone ${local.sessionId} ${local.version} IN ${family} ${local.address}`, 's=dialtone', `c=IN ${family} ${local.address}`, 't=0 0'];
}

const RTPMAP: Record<CodecName, string> = { PCMU: 'PCMU/8000', PCMA: 'PCMA/8000', G722: 'G722/8000' };

/** The answer to an offer: every media line in its place, the unused ones refused with port 0. */
export function answerSdp(offer: SessionDescription, choice: AudioChoice, local: LocalMedia): string {
  const lines = head(local);
  offer.media.forEach((m, i) => {
    if (i !== choice.index) {
      lines.push(`m=${m.kind} 0 ${m.proto} ${m.formats[0]}`);
      return;
    }
    const te = choice.telephoneEvent;
    lines.push(`m=audio ${local.port} ${m.proto} ${choice.payloadType}${te === null ? '' : ` ${te}`}`);
    lines.push(`a=rtpmap:${choice.payloadType} ${RTPMAP[choice.codec]}`);
    if (te !== null) lines.push(`a=rtpmap:${te} telephone-event/8000`, `a=fmtp:${te} 0-15`);
    lines.push('a=ptime:20', `a=${choice.direction}`);
  });
  return `${lines.join('\r\n')}\r\n`;
}

/** Our offer, for an INVITE that came without one (the answer comes in the ACK). */
export function offerSdp(local: LocalMedia): string {
  const pts = OFFER_ORDER;
  return `${[
    ...head(local),
    `m=audio ${local.port} RTP/AVP ${pts.join(' ')} ${OUR_TELEPHONE_EVENT}`,
    ...pts.map((pt) => `a=rtpmap:${pt} ${RTPMAP[STATIC[pt]!]}`),
    `a=rtpmap:${OUR_TELEPHONE_EVENT} telephone-event/8000`, `a=fmtp:${OUR_TELEPHONE_EVENT} 0-15`,
    'a=ptime:20', 'a=sendrecv',
  ].join('\r\n')}\r\n`;
}
