/**
 * sipp scenarios for call-flow tests: a phone that registers and calls, a
 * PBX that answers, a PBX that calls. sipp fills the bracketed keywords;
 * `rrs` keeps the Record-Route so in-dialog requests follow [routes].
 */
const xml = (name: string, body: string) => `<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="${name}">\n${body}</scenario>\n`;

const SDP = `v=0
o=sipp 1 1 IN IP4 [local_ip]
s=-
c=IN IP4 [local_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
`;

/** A phone (one sipp call, so the REGISTER shares the INVITE's Call-ID): registers with digest, calls `dialed` (407, then again with credentials), talks a moment, hangs up. */
export function phoneCallsScenario(o: { user: string; password: string; domain: string; number: string; dialed: string; transport: 'UDP' | 'TCP' }): string {
  const t = o.transport;
  const reg = (cseq: number, auth: string) => `
      REGISTER sip:${o.domain} SIP/2.0
      Via: SIP/2.0/${t} [local_ip]:[local_port];branch=[branch];rport
      From: <sip:${o.number}@${o.domain}>;tag=r[call_number]
      To: <sip:${o.number}@${o.domain}>
      Call-ID: [call_id]
      CSeq: ${cseq} REGISTER
      Contact: <sip:${o.number}@[local_ip]:[local_port];transport=${t.toLowerCase()}>
      Max-Forwards: 70
      Expires: 600${auth}
      Content-Length: 0
`;
  const invite = (cseq: number, auth: string) => `
      INVITE sip:${o.dialed}@${o.domain} SIP/2.0
      Via: SIP/2.0/${t} [local_ip]:[local_port];branch=[branch];rport
      From: <sip:${o.number}@${o.domain}>;tag=[pid]a[call_number]
      To: <sip:${o.dialed}@${o.domain}>
      Call-ID: [call_id]
      CSeq: ${cseq} INVITE
      Contact: <sip:${o.number}@[local_ip]:[local_port];transport=${t.toLowerCase()}>
      Max-Forwards: 70${auth}
      Content-Type: application/sdp
      Content-Length: [len]

${SDP.split('\n').map((l) => `      ${l}`).join('\n')}`;
  return xml('phone calls', `
  <send retrans="500"><![CDATA[${reg(1, '')}]]></send>
  <recv response="401" auth="true"/>
  <send retrans="500"><![CDATA[${reg(2, `\n      [authentication username=${o.user} password=${o.password}]`)}]]></send>
  <recv response="200"/>
  <send retrans="500"><![CDATA[${invite(1, '')}]]></send>
  <recv response="100" optional="true"/>
  <recv response="407" auth="true"/>
  <send><![CDATA[
      ACK sip:${o.dialed}@${o.domain} SIP/2.0
      [last_Via:]
      From: <sip:${o.number}@${o.domain}>;tag=[pid]a[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
]]></send>
  <send retrans="500"><![CDATA[${invite(2, `\n      [authentication username=${o.user} password=${o.password}]`)}]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true"/>
  <send><![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/${t} [local_ip]:[local_port];branch=[branch];rport
      From: <sip:${o.number}@${o.domain}>;tag=[pid]a[call_number]
      [last_To:]
      Call-ID: [call_id]
      [routes]
      CSeq: 2 ACK
      Max-Forwards: 70
      Content-Length: 0
]]></send>
  <pause milliseconds="200"/>
  <send retrans="500"><![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/${t} [local_ip]:[local_port];branch=[branch];rport
      From: <sip:${o.number}@${o.domain}>;tag=[pid]a[call_number]
      [last_To:]
      Call-ID: [call_id]
      [routes]
      CSeq: 3 BYE
      Max-Forwards: 70
      Content-Length: 0
]]></send>
  <recv response="200"/>
`);
}

/** A PBX: answers one call, and takes the caller's BYE. */
export function pbxAnswersScenario(): string {
  const answer = (status: string, sdp: boolean) => `
      SIP/2.0 ${status}
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]pbx[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      [last_Record-Route:]
      Contact: <sip:pbx@[local_ip]:[local_port];transport=[transport]>
${sdp ? `      Content-Type: application/sdp\n      Content-Length: [len]\n\n${SDP.split('\n').map((l) => `      ${l}`).join('\n')}` : '      Content-Length: 0\n'}`;
  return xml('pbx answers', `
  <recv request="INVITE"/>
  <send><![CDATA[${answer('180 Ringing', false)}]]></send>
  <send retrans="500"><![CDATA[${answer('200 OK', true)}]]></send>
  <recv request="ACK"/>
  <recv request="BYE"/>
  <send><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
]]></send>
  <pause milliseconds="500"/>
`);
}

/** A PBX: calls an extension through dialtone, and hangs up once answered. */
export function pbxCallsScenario(o: { domain: string; number: string }): string {
  return xml('pbx calls', `
  <send retrans="500"><![CDATA[
      INVITE sip:${o.number}@${o.domain} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:pbx@${o.domain}>;tag=[pid]p[call_number]
      To: <sip:${o.number}@${o.domain}>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:pbx@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

${SDP.split('\n').map((l) => `      ${l}`).join('\n')}]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true"/>
  <send><![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:pbx@${o.domain}>;tag=[pid]p[call_number]
      [last_To:]
      Call-ID: [call_id]
      [routes]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
]]></send>
  <pause milliseconds="200"/>
  <send retrans="500"><![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: <sip:pbx@${o.domain}>;tag=[pid]p[call_number]
      [last_To:]
      Call-ID: [call_id]
      [routes]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0
]]></send>
  <recv response="200"/>
`);
}
