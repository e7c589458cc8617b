import t from 'tap';
import { readRtp, writeRtp } from '../../daemon/media/rtp';

function packet(o: { first?: number; pt?: number; payload?: Buffer; extra?: Buffer } = {}): Buffer {
  const head = Buffer.alloc(12);
  writeRtp(head, { payloadType: o.pt ?? 0, marker: false, sequence: 7, timestamp: 1600, ssrc: 99 }, Buffer.alloc(0));
  if (o.first !== undefined) head[0] = o.first;
  return Buffer.concat([head, o.extra ?? Buffer.alloc(0), o.payload ?? Buffer.alloc(160, 0xff)]);
}

t.test('our packets read back as written', async (t) => {
  const out = Buffer.alloc(200);
  const n = writeRtp(out, { payloadType: 9, marker: true, sequence: 0x1ffff, timestamp: 2 ** 32 + 5, ssrc: 0xdeadbeef }, Buffer.alloc(160, 7));
  const p = readRtp(out.subarray(0, n))!;
  t.same({ pt: p.payloadType, marker: p.marker, seq: p.sequence, ts: p.timestamp, ssrc: p.ssrc, len: p.payload.length }, { pt: 9, marker: true, seq: 0xffff, ts: 5, ssrc: 0xdeadbeef, len: 160 });
});

t.test('hostile RTP reads as no packet', async (t) => {
  t.ok(readRtp(packet()), 'a plain packet');
  t.equal(readRtp(packet({ first: 0x40 })), null, 'version 1');
  t.equal(readRtp(packet({ first: 0x00 })), null, 'version 0');
  t.equal(readRtp(Buffer.alloc(11, 0x80)), null, 'shorter than a header');
  t.equal(readRtp(Buffer.alloc(0)), null, 'empty');
  t.equal(readRtp(Buffer.alloc(65000, 0x80)), null, 'huge');
  t.equal(readRtp(packet({ first: 0x8f, payload: Buffer.alloc(20) })), null, 'fifteen CSRCs claimed, fewer present');
  t.equal(readRtp(packet({ first: 0x90, payload: Buffer.alloc(2) })), null, 'extension header cut short');
  t.equal(readRtp(packet({ first: 0x90, extra: Buffer.from([0, 0, 0xff, 0xff]), payload: Buffer.alloc(8) })), null, 'extension longer than the packet');
  const padded = packet({ first: 0xa0, payload: Buffer.alloc(4) });
  padded[padded.length - 1] = 200;
  t.equal(readRtp(padded), null, 'padding longer than the packet');
  padded[padded.length - 1] = 0;
  t.equal(readRtp(padded), null, 'padding of zero bytes');
  padded[padded.length - 1] = 2;
  t.equal(readRtp(padded)!.payload.length, 2, 'honest padding is removed');
  const withExt = readRtp(packet({ first: 0x90, extra: Buffer.from([0xbe, 0xde, 0, 1, 1, 2, 3, 4]), payload: Buffer.alloc(160) }))!;
  t.equal(withExt.payload.length, 160, 'a header extension is skipped');
  for (const type of [200, 201, 202, 203, 204]) t.equal(readRtp(packet({ pt: type - 128 }).fill(type, 1, 2)), null, `RTCP type ${type} on the RTP port is not audio`);
});
