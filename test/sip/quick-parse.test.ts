import assert from 'node:assert';
import crypto from 'node:crypto';
import t from 'tap';
import sip from 'sip';
import { quickParse } from '../../daemon/sip/builtin/quick-parse';

const CRLF = '\r\n';
const head = (...lines: string[]) => lines.join(CRLF);

/** Header blocks as phones and clients send them; the quick reader must take every one marked true. */
const corpus: [string, string, boolean][] = [
  ['sipp REGISTER', head(
    'REGISTER sip:sip.test SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0;rport', 'From: <sip:1000@sip.test>;tag=1',
    'To: <sip:1000@sip.test>', 'Call-ID: 1-2345@127.0.0.1', 'CSeq: 1 REGISTER', 'Contact: <sip:1000@127.0.0.1:5061>', 'Max-Forwards: 70',
    'Expires: 3600', 'User-Agent: sipp-bench', 'Content-Length: 0'), true],
  ['sipp REGISTER with credentials', head(
    'REGISTER sip:sip.test SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-1;rport', 'From: <sip:1000@sip.test>;tag=1',
    'To: <sip:1000@sip.test>', 'Call-ID: 1-2345@127.0.0.1', 'CSeq: 2 REGISTER', 'Contact: <sip:1000@127.0.0.1:5061>', 'Max-Forwards: 70',
    'Expires: 3600', 'User-Agent: sipp-bench',
    'Authorization: Digest username="1000",realm="sip.test",cnonce="6b8b4567",nc=00000001,qop=auth,uri="sip:sip.test",nonce="19a8b2c3d4e5f0123456789abcdef01.AbC-_dEf",response="0123456789abcdef0123456789abcdef",algorithm=MD5',
    'Content-Length: 0'), true],
  ['a desk phone', head(
    'REGISTER sip:pbx.example.com:5060 SIP/2.0', 'Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK1871546372;rport',
    'From: "Alice Smith" <sip:201@pbx.example.com:5060>;tag=2109672815', 'To: "Alice Smith" <sip:201@pbx.example.com:5060>',
    'Call-ID: 1425498631@192.168.1.20', 'CSeq: 1 REGISTER', 'Contact: <sip:201@192.168.1.20:5060>;expires=600', 'X-Grandstream-PBX: true',
    'Max-Forwards: 70', 'User-Agent: Yealink SIP-T46S 66.86.0.15', 'Expires: 600', 'Allow: INVITE, ACK, OPTIONS, CANCEL, BYE, SUBSCRIBE, NOTIFY',
    'Allow-Events: talk,hold,conference,refer,check-sync', 'Content-Length: 0'), true],
  ['display name in words, SHA-256, Proxy-Authorization', head(
    'REGISTER sip:a.test SIP/2.0', 'Via: SIP/2.0/TCP 10.0.0.5:49152;branch=z9hG4bKabc;rport;alias', 'Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKdef',
    'From: Bob Jones <sip:bob@a.test>;tag=aa', 'To: Bob Jones <sip:bob@a.test>', 'Call-ID: abc', 'CSeq: 7 REGISTER', 'Contact: <sip:bob@10.0.0.5:49152;transport=tcp>;expires=0',
    'Authorization: Digest username="bob", realm="a.test", nonce="n1", uri="sip:a.test", response="ff", algorithm=SHA-256, qop=auth, nc=0000000a, cnonce="xyz"',
    'Proxy-Authorization: Digest username="bob", realm="b.test", nonce="n2", uri="sip:a.test", response="ee"', 'Content-Length: 0'), true],
  ['compact forms', head(
    'OPTIONS sip:a.test SIP/2.0', 'v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKq', 'f: <sip:x@a.test>;tag=1', 't: <sip:a.test>', 'i: q1', 'CSeq: 1 OPTIONS',
    'm: sip:x@10.0.0.1', 'l: 0', 'k: path'), true],
  ['Contact: * and two Contact lines', head(
    'REGISTER sip:a.test SIP/2.0', 'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKw', 'From: <sip:x@a.test>;tag=1', 'To: <sip:x@a.test>', 'Call-ID: w1',
    'CSeq: 3 REGISTER', 'Contact: *', 'Contact: <sip:x@10.0.0.2>', 'Expires: 0', 'Content-Length: 0'), true],
  ['repeated generic headers', head(
    'INVITE sip:*99@a.test SIP/2.0', 'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKi', 'From: <sip:201@a.test>;tag=9', 'To: <sip:*99@a.test>', 'Call-ID: inv1',
    'CSeq: 1 INVITE', 'Contact: <sip:201@10.0.0.1:5060>', 'Supported: replaces', 'Supported: timer', 'Content-Type: application/sdp', 'Content-Length: 120'), true],
  ['sip.js REGISTER, quoted parameters', head(
    'REGISTER sip:a.test SIP/2.0', 'Via: SIP/2.0/WSS abcdef.invalid;branch=z9hG4bK123', 'Max-Forwards: 70', 'To: <sip:201@a.test>', 'From: "201" <sip:201@a.test>;tag=uqv',
    'Call-ID: 0mkq8v1', 'CSeq: 1 REGISTER', 'Contact: <sip:x@abcdef.invalid;transport=ws>;+sip.ice;reg-id=1;+sip.instance="<urn:uuid:0b3f>";expires=600',
    'Expires: 600', 'Allow: ACK,CANCEL,INVITE', 'Supported: path,gruu,outbound', 'User-Agent: SIP.js/0.21.2', 'Content-Length: 0'), false],
  ['headers named like properties every object has', head(
    'OPTIONS sip:a.test SIP/2.0', 'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKo', 'From: <sip:x@a.test>;tag=1', 'To: <sip:a.test>', 'Call-ID: o1', 'CSeq: 1 OPTIONS',
    'constructor: a', 'toString: b', 'hasOwnProperty: c', 'valueOf: d'), false],
  ['Route and Path', head(
    'REGISTER sip:a.test SIP/2.0', 'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKr', 'Route: <sip:edge.test;lr>', 'Path: <sip:edge.test;lr>', 'From: <sip:x@a.test>;tag=1',
    'To: <sip:x@a.test>', 'Call-ID: r1', 'CSeq: 1 REGISTER', 'Content-Length: 0'), false],
];

function general(text: string): unknown {
  try {
    return sip.parse(`${text}${CRLF}${CRLF}`);
  } catch {
    return undefined;
  }
}

t.test('reads the common shapes exactly as the general parser does', async (t) => {
  for (const [name, text, quick] of corpus) {
    const q = quickParse(text);
    if (quick) t.ok(q, `${name}: read quickly`);
    else t.equal(q, undefined, `${name}: left to the general parser`);
    if (q) t.doesNotThrow(() => assert.deepStrictEqual(q, general(text)), name);
  }
});

const NOISE = [' ', '  ', '\t', ',', ';', '"', '<', '>', ':', '=', '\\', '%', '%41', '\r', '\n', '\r\n', '\r\n ', '@', 'a', 'Z', '0', '\u0000', '\u00a0', '\u0085', '\u00e9', '[', '*', ';x', '=y', ', ', '__proto__', 'constructor'];

function mutate(text: string): string {
  const pick = <T>(list: readonly T[]) => list[crypto.randomInt(list.length)]!;
  let s = text;
  for (let n = 1 + crypto.randomInt(3); n > 0; n--) {
    const at = crypto.randomInt(s.length + 1);
    switch (crypto.randomInt(4)) {
      case 0:
        s = s.slice(0, at) + s.slice(at + 1 + crypto.randomInt(3));
        break;
      case 1:
        s = s.slice(0, at) + pick(NOISE) + s.slice(at);
        break;
      case 2: {
        const lines = s.split(CRLF);
        lines.splice(1 + crypto.randomInt(lines.length), 0, pick(lines.slice(1)) ?? '');
        s = lines.join(CRLF);
        break;
      }
      default:
        s = s.slice(0, at) + s.slice(at, at + 1).toUpperCase() + s.slice(at + 1);
    }
  }
  return s;
}

t.test('random damage is either read as the general parser reads it, or left to it', async (t) => {
  let quick = 0;
  let total = 0;
  for (const [, text] of corpus) {
    for (let i = 0; i < 3000; i++) {
      const damaged = mutate(text);
      const q = quickParse(damaged);
      total++;
      if (q === undefined) continue;
      quick++;
      try {
        assert.deepStrictEqual(q, general(damaged));
      } catch (err) {
        t.fail(`differs from the general parser on ${JSON.stringify(damaged)}: ${(err as Error).message.slice(0, 500)}`);
        return;
      }
    }
  }
  t.ok(quick > total / 10, `a good share of damaged messages is still read quickly (${quick} of ${total}), so the comparison means something`);
});
