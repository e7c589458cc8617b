import t from 'tap';
import { Metrics } from '../../daemon/ops/metrics';

t.test('counters, histograms and gauges in the Prometheus text format', async (t) => {
  const m = new Metrics('1.2.3');
  const calls = m.counter('dialtone_calls_total', 'Calls by direction and result.', ['direction', 'result']);
  const answered = calls.cell('inbound', 'answered');
  answered.inc();
  answered.inc();
  calls.inc('outbound', 'busy');
  t.equal(m.counter('dialtone_calls_total', 'again', ['direction', 'result']), calls, 'asking twice gives the same family');
  t.throws(() => m.counter('dialtone_calls_total', 'x', ['direction']), /already defined with labels direction, result/);
  t.throws(() => m.counter('calls_total', 'x'), /must start with dialtone_/);
  t.throws(() => m.counter('dialtone_calls', 'x'), /must end in _total/);
  t.throws(() => calls.cell('inbound'), /takes 2 label values/);
  const h = m.histogram('dialtone_wait_seconds', 'Waits.', ['protocol'], [0.1, 1]);
  const s = h.series('http');
  s.observe(0.05);
  s.observe(0.5);
  s.observe(7);
  let depth = 3;
  m.gauge('dialtone_queue', 'Depth.', ['status'], () => [[['pending'], depth]]);
  m.counterFrom('dialtone_kept_total', 'Kept elsewhere.', [], () => [[[], 9]]);
  const text = await m.text();
  t.match(text, '# TYPE dialtone_calls_total counter');
  t.match(text, 'dialtone_calls_total{direction="inbound",result="answered"} 2');
  t.match(text, 'dialtone_calls_total{direction="outbound",result="busy"} 1');
  t.match(text, '# TYPE dialtone_wait_seconds histogram');
  t.match(text, 'dialtone_wait_seconds_bucket{protocol="http",le="0.1"} 1\ndialtone_wait_seconds_bucket{protocol="http",le="1"} 2\ndialtone_wait_seconds_bucket{protocol="http",le="+Inf"} 3');
  t.match(text, 'dialtone_wait_seconds_sum{protocol="http"} 7.55');
  t.match(text, 'dialtone_wait_seconds_count{protocol="http"} 3');
  t.match(text, 'dialtone_queue{status="pending"} 3');
  t.match(text, 'dialtone_kept_total 9');
  t.match(text, `dialtone_build_info{version="1.2.3",node="${process.version}"} 1`);
  t.match(text, /^process_cpu_user_seconds_total \d/m, 'process metrics too');
  depth = 0;
  t.match(await m.text(), 'dialtone_queue{status="pending"} 0', 'gauges are read at each scrape');
});

t.test('a label value cannot break the text format', async (t) => {
  const m = new Metrics('x');
  m.counter('dialtone_odd_total', 'Odd.', ['v']).inc('a"b\\c\nd');
  t.match(await m.text(), 'dialtone_odd_total{v="a\\"b\\\\c\\nd"} 1');
});
