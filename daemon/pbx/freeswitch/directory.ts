import type { CallingScope, ForwardCondition } from '../../admin/domain/extension';
import { type DialtoneEdge, edgeUri } from '../edge';
import { type PbxLine, md5, tenantContext } from '../line';

/** Characters XML attribute values must not carry raw; control characters have no XML 1.0 form at all. */
function attr(value: string): string {
  return value
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;');
}

// toll_allow as FusionPBX dialplans read it.
const TOLL_ALLOW: Record<CallingScope, string> = {
  internal: '', local: 'local', national: 'local,domestic', international: 'local,domestic,international',
};

const FORWARD_VARIABLE: Record<ForwardCondition, string> = {
  always: 'forward_all', busy: 'forward_busy', noAnswer: 'forward_no_answer',
  notRegistered: 'forward_user_not_registered', internetDown: 'dialtone_forward_internet_down',
};

const CODEC_NAMES: Record<string, string> = { OPUS: 'OPUS', G722: 'G722', PCMU: 'PCMU', PCMA: 'PCMA', G729: 'G729', 'G726-32': 'G726-32', iLBC: 'iLBC', GSM: 'GSM' };

/**
 * How FreeSWITCH reaches the user: through dialtone, the phones' edge proxy,
 * which relays to the phone's current registrations. mod_sofia takes the
 * route from `;fs_path=` up to the first `;` and URL-decodes it, so the
 * route's own `;lr` is written `%3Blr` (without it the route would be strict).
 */
export function dialString(line: Pick<PbxLine, 'number' | 'domain'>, edge: DialtoneEdge): string {
  const route = edgeUri(edge).replace(/;/g, '%3B');
  return `{sip_invite_domain=\${dialed_domain},presence_id=\${dialed_user}@\${dialed_domain}}sofia/internal/${line.number}@${line.domain};fs_path=${route}`;
}

/**
 * The mod_xml_curl directory answer for one extension. The user is named by
 * its digest username (what sofia looks up to authenticate) with the
 * extension number as alias (what user/1001@domain dials). Only the A1 hash
 * of the SIP password is sent.
 */
export function directoryDocument(line: PbxLine, edge: DialtoneEdge): string {
  const s = line.settings;
  const params: [string, string][] = [
    ['a1-hash', md5(`${line.sipUsername}:${line.domain}:${line.sipPassword}`)],
    ['vm-enabled', String(s.voicemail.enabled)],
    ['dial-string', dialString(line, edge)],
  ];
  if (s.voicemail.enabled) {
    if (line.voicemailPin) params.push(['vm-password', line.voicemailPin]);
    params.push(['vm-mailto', s.voicemail.email], ['vm-email-all-messages', 'true'], ['vm-attach-file', 'true'], ['vm-keep-local-after-email', 'true']);
  }
  params.push(['max-registrations-per-extension', '1']);
  const variables: [string, string][] = [
    ['user_context', tenantContext(line.domain)],
    ['effective_caller_id_name', s.callerId.name],
    ['effective_caller_id_number', s.callerId.number],
    ['toll_allow', TOLL_ALLOW[s.externalCalling]],
    ['accountcode', line.number],
    ['hold_music', s.musicOnHold === 'default' ? 'local_stream://default' : `local_stream://${s.musicOnHold}`],
    ['user_record', s.recording.mode === 'always' ? 'all' : ''],
    ['dialtone_record_mode', s.recording.mode],
    ['absolute_codec_string', s.codecs.map((c) => CODEC_NAMES[c]).join(',')],
    ['dialtone_fax_mode', s.fax.mode],
    ['dialtone_fax_email', s.fax.email ?? ''],
  ];
  for (const condition of Object.keys(FORWARD_VARIABLE) as ForwardCondition[]) {
    const rule = s.forwarding.find((r) => r.condition === condition);
    variables.push([`${FORWARD_VARIABLE[condition]}_enabled`, String(Boolean(rule?.enabled))], [`${FORWARD_VARIABLE[condition]}_destination`, rule?.destination ?? '']);
  }
  const noAnswer = s.forwarding.find((r) => r.condition === 'noAnswer');
  if (noAnswer?.afterSeconds) variables.push(['call_timeout', String(noAnswer.afterSeconds)]);
  const p = params.map(([n, v]) => `          <param name="${attr(n)}" value="${attr(v)}"/>`).join('\n');
  const v = variables.map(([n, val]) => `          <variable name="${attr(n)}" value="${attr(val)}"/>`).join('\n');
  return `<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<document type="freeswitch/xml">
  <section name="directory">
    <domain name="${attr(line.domain)}">
      <user id="${attr(line.sipUsername)}" number-alias="${attr(line.number)}">
        <params>
${p}
        </params>
        <variables>
${v}
        </variables>
      </user>
    </domain>
  </section>
</document>
`;
}

/** What FreeSWITCH expects for a user or domain dialtone does not know. */
export const NOT_FOUND = `<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<document type="freeswitch/xml">
  <section name="result">
    <result status="not found"/>
  </section>
</document>
`;
