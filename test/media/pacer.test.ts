import t from 'tap';
import { FRAME_MS, Pacer, tickPlan } from '../../daemon/media/pacer';

t.test('ticks are counted from the origin, and a stall skips frames instead of bursting', async (t) => {
  t.same(tickPlan(1000, 0, 1021), { tick: 1, skipped: 0, delay: 19 });
  t.same(tickPlan(1000, 1, 1041), { tick: 2, skipped: 0, delay: 19 }, 'a late timer does not push later ticks back');
  t.same(tickPlan(1000, 2, 1059.5), { tick: 3, skipped: 0, delay: 20.5 }, 'an early timer sends its frame, and the next waits for its own time');
  t.same(tickPlan(1000, 3, 1205), { tick: 10, skipped: 6, delay: 15 }, 'after 150 ms stalled: six frames skipped, one sent');
});

t.test('every stream sends one frame per tick, in the same batch, and frames missed in a stall are skipped', async (t) => {
  const pacer = new Pacer();
  const batches: number[][] = [];
  let tick = 0;
  const sent: { stream: number; tick: number; skipped: number }[] = [];
  const streams = [0, 1, 2].map((stream) => ({ frame: (skipped: number) => sent.push({ stream, tick, skipped }) }));
  // A stream that records the batch boundaries: added first, so it runs first in each tick.
  const marker = { frame: () => { tick++; batches.push([]); } };
  pacer.add(marker);
  for (const s of streams) pacer.add(s);
  await new Promise((r) => setTimeout(r, FRAME_MS * 5));
  const stallUntil = Date.now() + FRAME_MS * 6;
  while (Date.now() < stallUntil);
  await new Promise((r) => setTimeout(r, FRAME_MS * 3));
  for (const s of [marker, ...streams]) pacer.remove(s);
  t.equal(pacer.count, 0);
  const ticks = new Set(sent.map((s) => s.tick));
  for (const n of ticks) t.same(sent.filter((s) => s.tick === n).map((s) => s.stream), [0, 1, 2], `tick ${n}: each stream once`);
  t.ok(sent.some((s) => s.skipped >= 4), 'the stall was skipped over, not replayed');
  t.equal(tick, sent.length / 3, 'no tick sent more than one frame per stream');
  const after = tick;
  await new Promise((r) => setTimeout(r, FRAME_MS * 3));
  t.equal(tick, after, 'with no streams, the clock stops');
});
