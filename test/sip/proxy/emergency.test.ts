import t from 'tap';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { locateInvite, pidfLo, splitStreet, type CallerLocation } from '../../../daemon/sip/proxy/emergency';

const HQ: CallerLocation = {
  address: { street: '1 Main St', city: 'Springfield', region: 'IL', postalCode: '62701', country: 'US' },
  number: '1001', domain: 'acme.sip.test', language: 'en', at: new Date('2026-12-06T03:00:00Z'),
};

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, trimValues: false });

function civic(xml: string): Record<string, unknown> {
  t.equal(XMLValidator.validate(xml), true, 'the document is well-formed XML');
  const doc = parser.parse(xml);
  const { '#text': _indent, ...elements } = doc.presence['dm:device']['gp:geopriv']['gp:location-info']['ca:civicAddress'];
  return elements;
}

/** Splits a multipart/mixed body by its boundary as RFC 2046 reads it: headers, blank line, the part's exact bytes. */
function parts(body: string, boundary: string): { headers: string; content: string }[] {
  t.ok(body.startsWith(`--${boundary}\r\n`), 'the body opens with the first delimiter');
  t.ok(body.endsWith(`\r\n--${boundary}--\r\n`), 'and closes with the last');
  const inner = body.slice(`--${boundary}\r\n`.length, body.length - `\r\n--${boundary}--\r\n`.length);
  return inner.split(`\r\n--${boundary}\r\n`).map((p) => {
    const at = p.indexOf('\r\n\r\n');
    return { headers: p.slice(0, at), content: p.slice(at + 4) };
  });
}

t.test('a civic address as PIDF-LO (RFC 4119, 5491, 5139)', async (t) => {
  const xml = pidfLo(HQ);
  const doc = parser.parse(xml);
  t.equal(XMLValidator.validate(xml), true);
  t.match(doc.presence, {
    '@xmlns': 'urn:ietf:params:xml:ns:pidf', '@xmlns:gp': 'urn:ietf:params:xml:ns:pidf:geopriv10',
    '@xmlns:ca': 'urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr', '@xmlns:dm': 'urn:ietf:params:xml:ns:pidf:data-model',
    '@entity': 'pres:1001@acme.sip.test',
  });
  const geopriv = doc.presence['dm:device']['gp:geopriv'];
  t.equal(geopriv['gp:method'], 'Manual');
  t.ok('gp:usage-rules' in geopriv);
  t.equal(doc.presence['dm:device']['dm:timestamp'], '2026-12-06T03:00:00.000Z');
  t.same(civic(xml), { 'ca:country': 'US', 'ca:A1': 'IL', 'ca:A3': 'Springfield', 'ca:RD': 'Main St', 'ca:HNO': '1', 'ca:PC': '62701', '@xml:lang': 'en' });
  const noRegion = civic(pidfLo({ ...HQ, address: { ...HQ.address, region: null }, language: null }));
  t.notOk('ca:A1' in noRegion, 'no empty elements');
  t.equal(noRegion['@xml:lang'], 'en');
});

t.test('the house number is kept apart when the street line starts or ends with it', async (t) => {
  t.same(splitStreet('1 Main St'), { hno: '1', rd: 'Main St' });
  t.same(splitStreet('12B, rue de la Paix'), { hno: '12B', rd: 'rue de la Paix' });
  t.same(splitStreet('Hauptstraße 5'), { hno: '5', rd: 'Hauptstraße' });
  t.same(splitStreet('PO Box'), { hno: null, rd: 'PO Box' });
  t.same(splitStreet('Route 66 Diner, Suite 200 East'), { hno: null, rd: 'Route 66 Diner, Suite 200 East' });
});

t.test('hostile address text is escaped, never markup', async (t) => {
  const hostile: CallerLocation = {
    ...HQ,
    address: { street: '</ca:RD><ca:FLR>9</ca:FLR> & "Main" \'St\'', city: 'A<B>&amp;C\u0000\u0007', region: ']]><!--', postalCode: '<?xml?>', country: 'US' },
    number: '1001"><x', domain: 'acme"&.test', language: '"><evil',
  };
  const xml = pidfLo(hostile);
  const c = civic(xml);
  t.ok(xml.includes('<ca:RD>&lt;/ca:RD&gt;&lt;ca:FLR&gt;9&lt;/ca:FLR&gt; &amp; &quot;Main&quot; &apos;St&apos;</ca:RD>'), 'the text of RD is escaped');
  t.notOk('ca:FLR' in c, 'no element was injected');
  const decoded = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', parseTagValue: false, processEntities: true, htmlEntities: true }).parse(xml);
  const ca = decoded.presence['dm:device']['gp:geopriv']['gp:location-info']['ca:civicAddress'];
  t.equal(ca['ca:RD'], '</ca:RD><ca:FLR>9</ca:FLR> & "Main" \'St\'', 'and reads back as the text that was stored');
  t.equal(ca['ca:A3'], 'A<B>&amp;C', 'control characters are dropped');
  t.equal(ca['ca:A1'], ']]><!--');
  t.equal(ca['@xml:lang'], 'en', 'an invalid language falls back to en');
  t.equal(decoded.presence['@entity'], 'pres:1001"><x@acme"&.test');
});

t.test('the emergency INVITE body: SDP unchanged, PIDF-LO by Content-ID, Geolocation pointing at it', async (t) => {
  const noOffer = locateInvite('', HQ);
  const only = parts(noOffer.body, noOffer.contentType.split('=')[1]!);
  t.equal(only.length, 1, 'an INVITE without SDP gets the PIDF-LO alone, no empty offer');
  t.match(only[0]!.headers, /^Content-Type: application\/pidf\+xml\r\nContent-ID: </);
  for (const sdp of [SDP, SDP.slice(0, -2), 'v=0\r\n--\r\na=x:--dialtone-\r\n', ' ']) {
    const located = locateInvite(sdp, HQ);
    const boundary = /^multipart\/mixed;boundary=(\S+)$/.exec(located.contentType)?.[1];
    t.ok(boundary, located.contentType);
    const [first, second, ...rest] = parts(located.body, boundary!);
    t.equal(rest.length, 0, 'two parts');
    t.equal(first!.headers, 'Content-Type: application/sdp');
    t.equal(first!.content, sdp, 'the SDP is byte-identical');
    const cid = /^Content-ID: <([^>]+)>$/m.exec(second!.headers)?.[1];
    t.match(second!.headers, /^Content-Type: application\/pidf\+xml\r\n/);
    t.equal(located.headers.Geolocation, `<cid:${cid}>`);
    t.equal(located.headers['Geolocation-Routing'], 'no');
    t.equal(second!.content, pidfLo(HQ));
    t.match(civic(second!.content), { 'ca:A3': 'Springfield' });
  }
});

t.test('the boundary is never found inside either part', async (t) => {
  const tokens = ['aaaa', 'bbbb', 'cccc', 'dddd'];
  const sdp = `${SDP}a=note:dialtone-aaaa\r\n`;
  const loc = { ...HQ, address: { ...HQ.address, street: '1 dialtone-bbbb St' } };
  const located = locateInvite(sdp, loc, () => tokens.shift()!);
  // 'aaaa' was the Content-ID's token; 'bbbb' is in the PIDF-LO, 'cccc' is free.
  t.equal(located.contentType, 'multipart/mixed;boundary=dialtone-cccc');
  t.equal(located.headers.Geolocation, '<cid:aaaa@acme.sip.test>');
  t.equal(parts(located.body, 'dialtone-cccc')[0]!.content, sdp);
  t.throws(() => locateInvite('dialtone-x', HQ, () => 'x'), /no multipart boundary/, 'a source that cannot avoid the parts is an error, not a broken body');
  const hostileDomain = locateInvite(SDP, { ...HQ, domain: 'a>b' });
  t.match(hostileDomain.headers.Geolocation, /^<cid:[0-9a-f]+@dialtone\.invalid>$/, 'a domain that would break the header is not used in it');
});
