import t from 'tap';
import { dateHeader } from '../../daemon/core/date-header';

t.test('the Date of HTTP and SIP answers is the IMF-fixdate of its second, whatever way the clock goes', async (t) => {
  const at = Date.parse('2026-12-06T12:00:00.250Z');
  t.equal(dateHeader(at), 'Sun, 06 Dec 2026 12:00:00 GMT');
  t.equal(dateHeader(at + 749), 'Sun, 06 Dec 2026 12:00:00 GMT', 'later in the same second');
  t.equal(dateHeader(at + 750), 'Sun, 06 Dec 2026 12:00:01 GMT', 'the next second');
  t.equal(dateHeader(at - 251), 'Sun, 06 Dec 2026 11:59:59 GMT', 'a clock set back');
  t.equal(dateHeader(Date.parse('2027-01-01T00:00:00Z')), 'Fri, 01 Jan 2027 00:00:00 GMT');
  t.match(dateHeader(), /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/, 'now');
});
