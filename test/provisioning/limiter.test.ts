import t from 'tap';
import { FailureLimiter } from '../../daemon/provisioning/serve/limiter';

t.test('a key is refused from its limit of failures to the end of its minute', async (t) => {
  const clock = { now: 1_000_000 };
  const limiter = new FailureLimiter(3, () => clock.now);
  t.equal(limiter.blocked('a'), false, 'a key never seen');
  t.equal(limiter.fail('a'), false);
  t.equal(limiter.fail('a'), false);
  t.equal(limiter.blocked('a'), false, 'under the limit');
  t.equal(limiter.fail('a'), true, 'reaching the limit is reported once');
  t.equal(limiter.fail('a'), false, 'and not again in the same minute');
  t.equal(limiter.blocked('a'), true);
  t.equal(limiter.blocked('b'), false, 'other keys are not refused');
  clock.now += 60_000;
  t.equal(limiter.blocked('a'), false, 'a new minute');
  t.equal(limiter.fail('a'), false, 'counts from zero again');
});

t.test('asking about many keys that never failed does not push out one that did', async (t) => {
  const limiter = new FailureLimiter(2);
  limiter.fail('guessing');
  limiter.fail('guessing');
  // Every authenticated fetch asks about its own key: 60,000 phones must not evict the guesser's count.
  let refused = 0;
  for (let i = 0; i < 60_000; i++) if (limiter.blocked(`phone ${i}`)) refused++;
  t.equal(refused, 0);
  t.equal(limiter.blocked('guessing'), true);
});
