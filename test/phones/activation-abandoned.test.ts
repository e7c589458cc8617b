import dgram from 'node:dgram';
import v8 from 'node:v8';
import vm from 'node:vm';
import t from 'tap';
import type { Message } from 'sip';
import { ACTIVATION_DOMAIN, TestPhone, sleep } from '../helpers/phone';
import { sipFixture } from '../helpers/sip';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

async function heapAfterGc(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(50);
  }
  return process.memoryUsage().heapUsed;
}

async function bindable(port: number): Promise<boolean> {
  const s = dgram.createSocket('udp4');
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

t.test('2,000 calls opened and abandoned, some never ACKed: no crash, every port and the memory come back', async (t) => {
  // Below Linux's ephemeral ports (32768 and up), so no other socket of the machine takes one meanwhile.
  const low = 20000 + 2 * Math.floor(Math.random() * 5000);
  const high = low + 599;
  const f = await sipFixture(t, { DIALTONE_ACTIVATION_DOMAIN: ACTIVATION_DOMAIN, DIALTONE_RTP_PORTS: `${low}-${high}` });
  // Four phones dialling at once, about fifty calls up at a time in all, each call being sent its prompts.
  const phones = await Promise.all([1, 2, 3, 4].map((n) => TestPhone.boot(t, f, `805ec0cc000${n}`)));
  const statuses = new Map<number, number>();
  const opened = phones.map(() => [] as Message[]);
  const bye = async (phone: TestPhone, ok: Message) => {
    phone.call = ok;
    await phone.sip.request(phone.inDialog('BYE'));
  };
  const run = (from: number, to: number) => Promise.all(phones.map(async (phone, p) => {
    const open = opened[p]!;
    for (let i = from; i < to; i++) {
      // One call in twenty is never ACKed: its caller is gone after the 200.
      const neverAcked = i % 20 === 7;
      const res = await phone.invite({ callId: `abandon-${p}-${i}`, sdp: phone.sdp() });
      statuses.set(res.status!, (statuses.get(res.status!) ?? 0) + 1);
      if (res.status !== 200 || neverAcked) continue;
      phone.call = res;
      phone.sip.send(phone.inDialog('ACK'));
      open.push(res);
      // The oldest call is abandoned with a BYE, mid-prompt.
      if (open.length > 12) await bye(phone, open.shift()!);
    }
  }));
  await run(0, 15);
  const baseline = await heapAfterGc();
  await run(15, 515);
  t.same([...statuses.keys()], [200], 'every call was answered');
  t.equal(statuses.get(200), 2060, '2,060 calls');
  await Promise.all(phones.map(async (phone, p) => {
    while (opened[p]!.length) await bye(phone, opened[p]!.shift()!);
  }));
  // The calls never ACKed end after 64*T1 (32 s), each with a BYE from dialtone.
  await sleep(33_500);
  const byes = new Set<string>();
  for (const phone of phones) {
    for (;;) {
      const m = await Promise.race([phone.sip.next(), sleep(200).then(() => null)]);
      if (!m) break;
      if (m.method === 'BYE') byes.add(m.headers['call-id']!);
    }
  }
  t.equal(byes.size, 4 * 26, 'every call never ACKed was ended by dialtone');
  const free = await Promise.all(Array.from({ length: high - low + 1 }, (_, i) => bindable(low + i)));
  t.equal(free.filter(Boolean).length, high - low + 1, 'every port of the range is free again');
  const after = await heapAfterGc();
  t.ok(after - baseline < 16 * 1024 * 1024, `memory back near its baseline (${Math.round((after - baseline) / 1024)} kB more)`);
});
