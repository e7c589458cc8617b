import t from 'tap';
import { errorPacket, screenDatagram } from '../../daemon/provisioning/serve/tftp-gate';
import { rrq } from './clients';

const error = (code: number, text: string) => Buffer.concat([Buffer.from([0, 5, 0, code]), Buffer.from(`${text}\0`)]);

t.test('an ERROR packet is dropped, however it is formed', async (t) => {
  for (const [what, packet] of [
    ['a well-formed error', error(1, 'File not found')],
    ['an error with no text or terminator', Buffer.from([0, 5, 0, 0])],
    ['a bare opcode', Buffer.from([0, 5])],
    ['an error over 512 bytes', error(0, 'x'.repeat(600))],
    ['an error with an unknown code', error(99, 'strange')],
  ] as const) t.same(screenDatagram(packet), { action: 'drop' }, what);
});

t.test('an option the server cannot accept is refused with code 8 and its name', async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ blksize: '99999' }, /^Option blksize "99999" refused: must be 8 to 65464$/],
    [{ blksize: '7' }, /^Option blksize "7" refused/],
    [{ blksize: 'lots' }, /^Option blksize "lots" refused/],
    [{ blksize: '1e3' }, /^Option blksize "1e3" refused/],
    [{ blksize: '-512' }, /^Option blksize "-512" refused/],
    [{ tsize: '12' }, /^Option tsize "12" refused: must be 0 in a read request$/],
    [{ windowsize: '0' }, /^Option windowsize "0" refused: must be 1 to 65535$/],
    [{ rollover: '2' }, /^Option rollover "2" refused: must be 0 or 1$/],
    [{ BLKSIZE: '1' }, /^Option blksize "1" refused/],
    [{ blksize: '1024', windowsize: '99999999999' }, /^Option windowsize "99999999999" refused/],
    [{ blksize: '9'.repeat(100) }, /^Option blksize "9{20}\.\.\." refused/],
  ];
  for (const [options, message] of cases) {
    const v = screenDatagram(rrq('y000000000066.cfg', 'octet', options));
    t.equal(v.action, 'refuse', JSON.stringify(options));
    if (v.action === 'refuse') {
      t.equal(v.code, 8);
      t.match(v.message, message);
    }
  }
});

t.test('everything else is left to the tftp package', async (t) => {
  for (const [what, packet] of [
    ['a plain read request', rrq('y000000000066.cfg')],
    ['good options', rrq('y000000000066.cfg', 'octet', { blksize: '1468', tsize: '0', windowsize: '16', rollover: '0' })],
    ['options it does not negotiate', rrq('y000000000066.cfg', 'octet', { timeout: 'whenever', 'x-vendor': '1' })],
    ['a write request', Buffer.concat([Buffer.from([0, 2]), Buffer.from('evil.cfg\0octet\0blksize\0huge\0')])],
    ['an empty datagram', Buffer.alloc(0)],
    ['one byte', Buffer.from([5])],
    ['a name without its terminator', Buffer.concat([Buffer.from([0, 1]), Buffer.from('y000000000066.cfg-octet')])],
    ['an option without a value', Buffer.concat([rrq('y000000000066.cfg'), Buffer.from('blksize\0')])],
    ['an option value without its terminator', Buffer.concat([rrq('y000000000066.cfg'), Buffer.from('blksize\u00009')])],
    ['a request over 512 bytes', rrq('y000000000066.cfg', 'octet', { blksize: '1', pad: 'x'.repeat(600) })],
  ] as const) t.same(screenDatagram(packet), { action: 'pass' }, what);
});

t.test('error packets are ASCII, terminated, and bounded', async (t) => {
  const p = errorPacket(8, 'Option blksize "\u00ff" refused');
  t.same([...p.subarray(0, 4)], [0, 5, 0, 8]);
  t.equal(p.at(-1), 0);
  t.equal(p.subarray(4, -1).toString('latin1'), 'Option blksize "?" refused');
  t.ok(errorPacket(0, 'x'.repeat(5000)).length <= 205);
});
