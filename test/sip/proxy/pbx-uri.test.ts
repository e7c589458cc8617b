import t from 'tap';
import { parsePbxUri } from '../../../daemon/sip/proxy/pbx-uri';
import { ConfigError, loadConfig } from '../../../daemon/config/load';

t.test('PBX URIs that are accepted, with their defaults filled in', async (t) => {
  const cases: [string, { uri: string; host: string; port: number; transport: string }][] = [
    ['sip:127.0.0.1:5070;transport=udp', { uri: 'sip:127.0.0.1:5070;transport=udp', host: '127.0.0.1', port: 5070, transport: 'udp' }],
    ['sip:pbx.example.com', { uri: 'sip:pbx.example.com', host: 'pbx.example.com', port: 5060, transport: 'udp' }],
    ['SIP:PBX.Example.COM;Transport=TCP', { uri: 'sip:pbx.example.com;transport=tcp', host: 'pbx.example.com', port: 5060, transport: 'tcp' }],
    ['sips:pbx.example.com', { uri: 'sips:pbx.example.com', host: 'pbx.example.com', port: 5061, transport: 'tls' }],
    ['sip:pbx:8080;transport=ws', { uri: 'sip:pbx:8080;transport=ws', host: 'pbx', port: 8080, transport: 'ws' }],
    ['sip:[2001:db8::1]:5080;transport=tls', { uri: 'sip:[2001:db8::1]:5080;transport=tls', host: '2001:db8::1', port: 5080, transport: 'tls' }],
    ['sip:pbx;transport=ws', { uri: 'sip:pbx;transport=ws', host: 'pbx', port: 80, transport: 'ws' }],
  ];
  for (const [raw, expected] of cases) t.same(parsePbxUri(raw), { ok: true, pbx: expected }, raw);
});

t.test('hostile or wrong PBX URIs are refused with the reason', async (t) => {
  const cases: [unknown, RegExp][] = [
    [undefined, /must be a SIP URI/],
    [5060, /must be a SIP URI/],
    ['', /1 to 300 characters/],
    ['sip:' + 'a'.repeat(400), /1 to 300 characters/],
    ['http://pbx.example.com', /must start with sip: or sips:/],
    ['pbx.example.com:5060', /must start with sip: or sips:/],
    ['sip:', /must have a host/],
    ['sip::5060', /must have a host/],
    ['sip:pbx.example.com:0', /port "0": must be 1 to 65535/],
    ['sip:pbx.example.com:65536', /port "65536"/],
    ['sip:pbx.example.com:50a', /port "50a"/],
    ['sip:pbx.example.com:', /port ""/],
    ['sip:alice@pbx.example.com', /without a user part/],
    ['sip:pbx.example.com;transport=sctp', /transport "sctp": must be udp, tcp, tls or ws/],
    ['sip:pbx.example.com;transport=udp;transport=tcp', /transport twice/],
    ['sip:pbx.example.com;lr', /only ;transport=/],
    ['sip:pbx.example.com;maddr=10.0.0.1', /only ;transport=/],
    ['sip:pbx.example.com?Route=x', /headers/],
    ['sips:pbx.example.com;transport=udp', /sips: URI, which needs TLS/],
    ['sip:pbx example.com', /spaces or control characters/],
    ['sip:pbx.example.com\r\nVia: x', /spaces or control characters/],
    ['sip:-pbx.example.com', /invalid host/],
    ['sip:pbx_1.example.com', /invalid host/],
    ['sip:999.1.1.1', /invalid host/],
    ['sip:[2001:db8::zz]', /must have a host|invalid IPv6/],
    ['sip:[2001:db8:::1]', /invalid IPv6/],
    ['sip:2001:db8::1', /must have a host/],
  ];
  for (const [raw, reason] of cases) {
    const r = parsePbxUri(raw);
    t.equal(r.ok, false, JSON.stringify(raw));
    if (!r.ok) t.match(r.reason, reason, JSON.stringify(raw));
  }
});

t.test('DIALTONE_PBX_URI and DIALTONE_EMERGENCY_NUMBERS', async (t) => {
  const none = loadConfig({});
  t.equal(none.pbxUri, null, 'no PBX unless configured');
  t.same(none.emergencyNumbers, ['911', '112', '999', '933']);
  t.equal(loadConfig({ DIALTONE_PBX_URI: 'SIP:127.0.0.1:5070;transport=UDP' }).pbxUri, 'sip:127.0.0.1:5070;transport=udp');
  t.same(loadConfig({ DIALTONE_EMERGENCY_NUMBERS: ' 112 , 000,112' }).emergencyNumbers, ['112', '000']);
  t.throws(() => loadConfig({ DIALTONE_PBX_URI: 'sip:pbx;lr' }), { constructor: ConfigError, message: /^DIALTONE_PBX_URI: has the parameter "lr"/ });
  t.throws(() => loadConfig({ DIALTONE_EMERGENCY_NUMBERS: '911,+1911' }), { constructor: ConfigError, message: /^DIALTONE_EMERGENCY_NUMBERS: must be comma-separated numbers of 2 to 6 digits, got "\+1911"/ });
  t.throws(() => loadConfig({ DIALTONE_EMERGENCY_NUMBERS: ',' }), { message: /at least one emergency number/ });
});
