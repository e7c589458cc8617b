import t from 'tap';
import { triage } from '../../daemon/sip/workers/triage';

const b = (s: string) => Buffer.from(s, 'latin1');

t.test('a worker answers REGISTER and OPTIONS, hands other SIP to the daemon, drops the rest', async (t) => {
  t.equal(triage(b('REGISTER sip:a.test SIP/2.0\r\n')), 'answer');
  t.equal(triage(b('OPTIONS sip:a.test SIP/2.0\r\n')), 'answer');
  t.equal(triage(b('INVITE sip:*8000@a.test SIP/2.0\r\n')), 'hand-over');
  t.equal(triage(b('BYE sip:x@a.test SIP/2.0\r\n')), 'hand-over');
  t.equal(triage(b('SIP/2.0 200 OK\r\n')), 'hand-over', 'an answer to a resync goes to the daemon that sent it');
});

t.test('hostile or broken datagrams are dropped in the worker', async (t) => {
  const cases: [string, string][] = [
    ['', 'drop'], ['\r\n\r\n', 'drop'], ['register sip:a.test SIP/2.0', 'drop'], ['REGISTERsip:a.test', 'drop'],
    ['\u0000\u0001\u0002REGISTER ', 'drop'], ['X'.repeat(100), 'drop'], ['SIP/3.0 200 OK', 'drop'], [' REGISTER sip:a.test', 'drop'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZ sip:a', 'drop'],
  ];
  for (const [input, expected] of cases) t.equal(triage(b(input)), expected, JSON.stringify(input.slice(0, 20)));
  t.equal(triage(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00])), 'drop', 'a TLS hello on the UDP port');
});
