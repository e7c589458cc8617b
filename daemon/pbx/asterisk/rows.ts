import net from 'node:net';
import type { Codec, EffectiveSettings } from '../../admin/domain/extension';
import { type DialtoneEdge, edgeUri } from '../edge';
import { type PbxLine, tenantContext } from '../line';
import { callerIdString, realtimeChunk, realtimeText } from './text';

/** PJSIP codec names for the codecs of the extension model. */
const CODEC_NAMES: Record<Codec, string> = {
  OPUS: 'opus', G722: 'g722', PCMU: 'ulaw', PCMA: 'alaw', G729: 'g729', 'G726-32': 'g726', iLBC: 'ilbc', GSM: 'gsm',
};

export interface RealtimeRows {
  endpoint: Record<string, string | number | null>;
  aor: Record<string, string | number | null>;
  /** Null when voicemail is off: the mailbox row is then removed. */
  voicemail: Record<string, string | null> | null;
}

/**
 * Only dialtone may reach an extension's endpoint: every address is denied,
 * then dialtone's own permitted, so a request from anywhere else is refused
 * before Asterisk looks at it (the endpoint has no digest to fall back on).
 */
function dialtoneOnly(edge: DialtoneEdge): { deny: string; permit: string | null } {
  // ps_endpoints.permit holds 95 characters: a host with more addresses than fit keeps the first ones.
  let permit = '';
  for (const a of edge.addresses) {
    const next = `${permit ? `${permit},` : ''}${a}/${net.isIPv6(a) ? 128 : 32}`;
    if (next.length > 95) break;
    permit = next;
  }
  return { deny: '0.0.0.0/0,::/0', permit: permit || null };
}

/**
 * The fax settings as channel variables on every channel of the endpoint
 * (one `set_var` per `;`-separated piece), for the dialplan to read: see the
 * README's Calls section.
 */
function faxVariables(fax: EffectiveSettings['fax']): string {
  return [
    `DIALTONE_FAX_MODE=${fax.mode}`,
    `DIALTONE_FAX_EMAIL=${fax.mode === 'disabled' ? '' : realtimeText(fax.email ?? '', 200)}`,
    `DIALTONE_FAX_DETECT=${fax.mode === 'disabled' ? 'no' : 'yes'}`,
  ].join(';');
}

/**
 * The rows Asterisk's realtime PJSIP and voicemail read for one extension,
 * with dialtone as the extension's edge proxy: Asterisk reaches the phone at
 * a static contact through dialtone (calls and qualify OPTIONS alike, so the
 * endpoint's reachability is dialtone's registration), and accepts the
 * extension's calls only from dialtone, which has authenticated the phone.
 * The endpoint is named by the phone's SIP username, which is the From user
 * dialtone relays, so Asterisk identifies it by that username; an address
 * identifier (ps_endpoint_id_ips) cannot tell apart extensions that all come
 * from dialtone's one address.
 */
export function realtimeRows(line: PbxLine, edge: DialtoneEdge): RealtimeRows {
  const id = line.sipUsername;
  const context = tenantContext(line.domain);
  const s = line.settings;
  const mailbox = s.voicemail.enabled ? `${line.number}@${context}` : null;
  const outboundProxy = realtimeChunk(edgeUri(edge));
  return {
    endpoint: {
      id, aors: id, auth: null, context,
      disallow: 'all', allow: s.codecs.map((c) => CODEC_NAMES[c]).join(','),
      callerid: callerIdString(s.callerId.name, s.callerId.number),
      mailboxes: mailbox, moh_suggest: realtimeText(s.musicOnHold, 40),
      // Media flows between the phone and Asterisk (dialtone carries none): symmetric RTP still answers a phone behind NAT.
      direct_media: 'no', rtp_symmetric: 'yes', force_rport: 'yes', rewrite_contact: 'no', dtmf_mode: 'rfc4733',
      identify_by: 'username', outbound_proxy: outboundProxy, ...dialtoneOnly(edge),
      trust_id_inbound: 'yes',
      set_var: faxVariables(s.fax),
      one_touch_recording: s.recording.mode === 'on_demand' ? 'yes' : 'no',
      language: line.language ? realtimeText(line.language.slice(0, 2), 40) : null,
    },
    aor: {
      id, contact: `sip:${line.number}@${line.domain}`, outbound_proxy: outboundProxy,
      // The phone registers with dialtone only; the static contact needs no registration slot.
      max_contacts: 0, remove_existing: null, support_path: null,
      qualify_frequency: 60, authenticate_qualify: 'no',
      // dialtone answers 480 when the extension has no binding: that must read as unreachable, not as an answer.
      qualify_2xx_only: 'yes',
      mailboxes: mailbox,
    },
    voicemail: s.voicemail.enabled && line.voicemailPin
      ? {
          context, mailbox: line.number, password: line.voicemailPin,
          fullname: realtimeText(`${line.firstName} ${line.lastName}`, 80),
          email: realtimeText(s.voicemail.email, 80), attach: 'yes', attachfmt: 'wav',
          language: line.language ? realtimeText(line.language.slice(0, 2), 20) : null,
        }
      : null,
  };
}

/**
 * Asterisk writes a PIN changed from the phone back into its voicemail row.
 * When the row no longer holds the PIN dialtone last wrote, the user changed
 * it: dialtone adopts it instead of overwriting the user's choice.
 */
export function pinChangedOnPhone(rowPin: string | null, lastWrittenHash: string | null, hash: (pin: string) => string): string | null {
  if (rowPin === null || lastWrittenHash === null) return null;
  if (!/^[0-9]{4,16}$/.test(rowPin)) return null;
  return hash(rowPin) === lastWrittenHash ? null : rowPin;
}
