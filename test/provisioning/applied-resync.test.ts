import t from 'tap';
import { type DeviceEventView, markAppliedResyncs } from '../../daemon/provisioning/events';

const ev = (at: string, kind: DeviceEventView['kind'], result: string): DeviceEventView => ({
  id: at, at, kind, result, transport: null, file: null, source: null, userAgent: null, detail: null,
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
