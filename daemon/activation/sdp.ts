/**
 * Just enough SDP for the registration service: read where the phone wants
 * audio and which payload type carries telephone-events, and answer with
 * G.711 plus telephone-event so the phone sends keypresses as RFC 4733.
 */
export interface AudioOffer {
  address: string;
  port: number;
  telephoneEventPt: number | null;
  payloadTypes: number[];
}

const MAX_SDP = 8192;

export function readOffer(sdp: string): AudioOffer | null {
  if (sdp.length > MAX_SDP) return null;
  const lines = sdp.split(/\r?\n/);
  let address: string | null = null;
  let audio: { port: number; pts: number[] } | null = null;
  let telephoneEventPt: number | null = null;
  let inAudio = false;
  for (const line of lines) {
    const m = /^m=(\w+) (\d{1,5}) [A-Z/]+((?: \d{1,3})+)$/.exec(line.trim());
    if (m) {
      inAudio = m[1] === 'audio' && audio === null;
      if (inAudio) audio = { port: Number(m[2]), pts: m[3]!.trim().split(' ').map(Number) };
      continue;
    }
    const c = /^c=IN IP[46] ([0-9a-fA-F.:]{2,45})$/.exec(line.trim());
    if (c && (address === null || inAudio)) address = c[1]!;
    const rtpmap = /^a=rtpmap:(\d{1,3}) telephone-event\/8000/i.exec(line.trim());
    if (rtpmap && inAudio) telephoneEventPt = Number(rtpmap[1]);
  }
  if (!audio || !address || audio.port < 1 || audio.port > 65535) return null;
  return { address, port: audio.port, telephoneEventPt, payloadTypes: audio.pts };
}

/** Answers the offer: PCMU and PCMA as offered, the phone's telephone-event payload type, receive only. */
export function answerFor(offer: AudioOffer, local: { address: string; port: number; sessionId: number }): string {
  const codecs = [0, 8].filter((pt) => offer.payloadTypes.includes(pt));
  const te = offer.telephoneEventPt ?? 101;
  const pts = [...(codecs.length ? codecs : [0]), te];
  const family = local.address.includes(':') ? 'IP6' : 'IP4';
  return [
    'v=0',
    `o=dialtone ${local.sessionId} ${local.sessionId} IN ${family} ${local.address}`,
    's=dialtone registration service',
    `c=IN ${family} ${local.address}`,
    't=0 0',
    `m=audio ${local.port} RTP/AVP ${pts.join(' ')}`,
    ...pts.filter((pt) => pt !== te).map((pt) => `a=rtpmap:${pt} ${pt === 0 ? 'PCMU' : 'PCMA'}/8000`),
    `a=rtpmap:${te} telephone-event/8000`,
    `a=fmtp:${te} 0-15`,
    'a=recvonly',
    '',
  ].join('\r\n');
}
