import type { Codec } from '../../admin/domain/extension';
import { type PbxLine, md5, tenantContext } from '../line';
import { callerIdString, realtimeText } from './text';

/** PJSIP codec names for the codecs of the extension model. */
const CODEC_NAMES: Record<Codec, string> = {
  OPUS: 'opus', G722: 'g722', PCMU: 'ulaw', PCMA: 'alaw', G729: 'g729', 'G726-32': 'g726', iLBC: 'ilbc', GSM: 'gsm',
};

export interface RealtimeRows {
  endpoint: Record<string, string | number | null>;
  auth: Record<string, string | number | null>;
  aor: Record<string, string | number | null>;
  /** Null when voicemail is off: the mailbox row is then removed. */
  voicemail: Record<string, string | null> | null;
}

/**
 * The rows Asterisk's realtime PJSIP and voicemail read for one extension.
 * The endpoint is named by the digest username, which is how Asterisk finds
 * it for an authenticated INVITE; only a digest of the password is written.
 */
export function realtimeRows(line: PbxLine): RealtimeRows {
  const id = line.sipUsername;
  const context = tenantContext(line.domain);
  const s = line.settings;
  const mailbox = s.voicemail.enabled ? `${line.number}@${context}` : null;
  return {
    endpoint: {
      id, aors: id, auth: id, context,
      disallow: 'all', allow: s.codecs.map((c) => CODEC_NAMES[c]).join(','),
      callerid: callerIdString(s.callerId.name, s.callerId.number),
      mailboxes: mailbox, moh_suggest: realtimeText(s.musicOnHold, 40),
      direct_media: 'no', rtp_symmetric: 'yes', force_rport: 'yes', rewrite_contact: 'yes', dtmf_mode: 'rfc4733',
      one_touch_recording: s.recording.mode === 'on_demand' ? 'yes' : 'no',
      language: line.language ? realtimeText(line.language.slice(0, 2), 40) : null,
    },
    auth: {
      id, auth_type: 'userpass', username: realtimeText(line.sipUsername, 40), realm: line.domain,
      password: null, password_digest: `MD5:${md5(`${line.sipUsername}:${line.domain}:${line.sipPassword}`)}`,
    },
    aor: {
      id, max_contacts: 1, remove_existing: 'yes', support_path: 'yes', qualify_frequency: 60,
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
