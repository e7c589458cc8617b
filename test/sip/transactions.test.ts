import t from 'tap';
import { ServerTransactions } from '../../daemon/sip/builtin/transactions';

t.test('a retransmission gets nothing while the first is handled, then the answer given', async (t) => {
  const tx = new ServerTransactions();
  t.same(tx.receive('b1', 0), { state: 'new' });
  t.same(tx.receive('b1', 400), { state: 'retransmission', answer: null });
  tx.answered('b1', 'SIP/2.0 200 OK');
  const again = tx.receive('b1', 900);
  t.equal(again.state, 'retransmission');
  t.equal(again.state === 'retransmission' && again.answer, 'SIP/2.0 200 OK');
  t.same(tx.receive('b2', 900), { state: 'new' }, 'another branch is another transaction');
});

t.test('an answer is kept for Timer J (32 s) and then forgotten', async (t) => {
  const tx = new ServerTransactions();
  tx.receive('b1', 1_000);
  tx.answered('b1', 'SIP/2.0 200 OK');
  t.equal(tx.receive('b1', 1_000 + 32_000).state, 'retransmission');
  t.equal(tx.receive('b1', 1_000 + 34_000).state, 'new');
});

t.test('a forgotten (stateless) answer lets the retransmission through afresh', async (t) => {
  const tx = new ServerTransactions();
  tx.receive('b1', 0);
  tx.forget('b1');
  t.same(tx.receive('b1', 500), { state: 'new' });
  t.equal(tx.size, 1);
});

t.test('a flood of distinct requests is bounded: the oldest seconds go first', async (t) => {
  const tx = new ServerTransactions(1_000);
  for (let s = 0; s < 5; s++) {
    for (let i = 0; i < 400; i++) tx.receive(`s${s}-${i}`, s * 1_000);
  }
  t.ok(tx.size <= 1_200, `remembered ${tx.size}`);
  t.same(tx.receive('s4-1', 4_500), { state: 'retransmission', answer: null }, 'the newest second is kept');
  t.same(tx.receive('s0-1', 4_500), { state: 'new' }, 'the oldest second was forgotten early');
});

t.test('answering an unknown or forgotten key changes nothing', async (t) => {
  const tx = new ServerTransactions();
  tx.answered('never', 'SIP/2.0 200 OK');
  t.equal(tx.size, 0);
  t.same(tx.receive('never', 0), { state: 'new' });
});
