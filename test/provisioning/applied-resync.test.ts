import t from 'tap';
import { type DeviceEventView, markAppliedResyncs } from '../../daemon/provisioning/events';

const ev = (at: string, kind: DeviceEventView['kind'], result: string, lastAt = at, count = 1): DeviceEventView => ({
  id: at, at, kind, result, transport: null, file: null, source: null, userAgent: null, detail: null, count, lastAt,
});

t.test('a sent resync is applied by the first successful fetch after it', async (t) => {
  const marked = markAppliedResyncs([
    ev('09', 'fetch', 'ok'),
    ev('08', 'fetch', 'not_modified'),
    ev('07', 'fetch', 'unauthorized'),
    ev('06', 'resync', 'sent'),
    ev('05', 'fetch', 'ok'),
    ev('04', 'resync', 'sent'),
    ev('03', 'resync', 'failed'),
  ]);
  t.equal(marked[3]!.appliedAt, '08', 'the earliest good fetch after it, not a refused one');
  t.equal(marked[5]!.appliedAt, '05');
  t.equal(marked[6]!.appliedAt, undefined, 'an unanswered resync is not marked');
  t.equal(marked[0]!.appliedAt, undefined, 'fetches are not marked');
  t.same(markAppliedResyncs([ev('02', 'resync', 'sent'), ev('01', 'fetch', 'ok')])[0]!.appliedAt, null, 'not yet applied');
});

t.test('a run of counted fetches that went on after the resync applies it by its last fetch', async (t) => {
  const marked = markAppliedResyncs([
    ev('09', 'fetch', 'ok'),
    ev('06', 'resync', 'sent'),
    ev('04', 'fetch', 'ok', '07', 5),
    ev('02', 'resync', 'sent'),
    ev('01', 'fetch', 'ok', '01'),
  ]);
  t.equal(marked[1]!.appliedAt, '07', 'the run began before the resync and its repeats went on after it');
  t.equal(marked[3]!.appliedAt, '04', 'a run that began after the resync applies it at its first fetch');
  const ended = markAppliedResyncs([ev('06', 'resync', 'sent'), ev('04', 'fetch', 'ok', '05', 3)]);
  t.equal(ended[0]!.appliedAt, null, 'a run that ended before the resync does not apply it');
  const refused = markAppliedResyncs([ev('06', 'resync', 'sent'), ev('04', 'fetch', 'unauthorized', '08', 9)]);
  t.equal(refused[0]!.appliedAt, null, 'refused fetches never apply it, however many');
});
