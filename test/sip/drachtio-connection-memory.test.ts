import sip, { type Message } from 'sip';
import t from 'tap';
import { ConnectionMemory } from '../../daemon/sip/drachtio/connection-memory';
import type { Flow } from '../../daemon/sip/engine';

const tcp: Flow = { transport: 'tcp', address: '198.51.100.7', port: 40001 };
const tcp2: Flow = { transport: 'tcp', address: '198.51.100.7', port: 40002 };
const udp: Flow = { transport: 'udp', address: '198.51.100.7', port: 5060 };

function register(contact: string, method = 'REGISTER'): Message {
  return sip.parse([`${method} sip:a.test SIP/2.0`, 'Via: SIP/2.0/TCP 198.51.100.7:40001;branch=z9hG4bK1', 'From: <sip:201@a.test>;tag=1', 'To: <sip:201@a.test>',
    'Call-ID: c1', `CSeq: 1 ${method}`, ...(contact ? [`Contact: ${contact}`] : []), 'Content-Length: 0', '', ''].join('\r\n'))!;
}
const answeredWith = (expires: string) => ({ contact: [{ uri: 'sip:201@192.168.1.10:5060;transport=tcp', params: { expires } }] });

t.test('a 200 to a REGISTER over TCP makes drachtio-server send to that user and host on that connection', async (t) => {
  const m = new ConnectionMemory();
  m.answered(register('<sip:201@192.168.1.10:5060;transport=tcp>'), tcp, 200, answeredWith('600'), 0);
  t.equal(m.divert('NOTIFY', 'sip:201@192.168.1.10:5060;transport=tcp', tcp, 1000), null, 'the contact\'s own flow is used');
  t.same(m.divert('NOTIFY', 'sip:201@192.168.1.10:5070', udp, 1000), tcp, 'another port of the same user and host is not its own flow');
  t.same(m.divert('OPTIONS', 'sip:201@192.168.1.10', tcp2, 1000), tcp);
  t.equal(m.divert('BYE', 'sip:201@192.168.1.10:5070', udp, 1000), null, 'only INVITE, OPTIONS, NOTIFY and MESSAGE are redirected');
  t.equal(m.divert('NOTIFY', 'sip:202@192.168.1.10:5070', udp, 1000), null, 'another user is not');
  t.equal(m.divert('NOTIFY', 'sip:201@192.168.1.10:5070', udp, 600_000 + 30_001), null, 'forgotten after it expires and the watchdog ran');
});

t.test('the latest registration wins; an unregistration or a restart forgets', async (t) => {
  const m = new ConnectionMemory();
  m.answered(register('<sip:201@192.168.1.10:5060>'), tcp, 200, answeredWith('600'), 0);
  m.answered(register('<sip:201@192.168.1.10:5060>'), tcp2, 200, answeredWith('600'), 0);
  t.same(m.divert('NOTIFY', 'sip:201@192.168.1.10:5060', tcp, 0), tcp2);
  m.answered(register('<sip:201@192.168.1.10:5060>'), tcp2, 200, answeredWith('0'), 0);
  t.equal(m.divert('NOTIFY', 'sip:201@192.168.1.10:5060', tcp, 0), null);
  m.answered(register('<sip:201@192.168.1.10:5060>'), tcp, 200, { expires: '300' }, 0);
  t.same(m.divert('NOTIFY', 'sip:201@192.168.1.10:5060', udp, 0), tcp, 'the Expires header counts when the Contact has none');
  m.clear();
  t.equal(m.divert('NOTIFY', 'sip:201@192.168.1.10:5060', udp, 0), null);
});

t.test('nothing is remembered from UDP, refusals, or contacts drachtio-server cannot key', async (t) => {
  const m = new ConnectionMemory();
  m.answered(register('<sip:201@192.168.1.10:5060>'), udp, 200, answeredWith('600'), 0);
  m.answered(register('<sip:201@192.168.1.10:5060>'), tcp, 401, answeredWith('600'), 0);
  m.answered(register('<sip:201@192.168.1.10:5060>', 'OPTIONS'), tcp, 200, answeredWith('600'), 0);
  m.answered(register('*'), tcp, 200, { expires: '600' }, 0);
  m.answered(register(''), tcp, 200, answeredWith('600'), 0);
  m.answered(register('<garbage>'), tcp, 200, answeredWith('600'), 0);
  m.answered(register('<sip:201@192.168.1.10:5060>'), tcp, 200, answeredWith('-5'), 0);
  m.answered(register('<sip:201@192.168.1.10:5060>'), tcp, 200, { contact: 'not a list', expires: 'soon' }, 0);
  t.equal(m.divert('NOTIFY', 'sip:201@192.168.1.10:5060', udp, 0), null);
  t.equal(m.divert('NOTIFY', 'not a uri', udp, 0), null);
  m.answered(register('<sip:201@192.168.1.10:5060>', 'SUBSCRIBE'), tcp, 202, { expires: '3600' }, 0);
  t.same(m.divert('NOTIFY', 'sip:201@192.168.1.10:5060', udp, 0), tcp, 'a 202 to a SUBSCRIBE counts too');
});
