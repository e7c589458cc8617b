import t from 'tap';
import { hasBinary, registerScenario, runSipp, sipFixture } from '../helpers/sip';

t.test('a sipp UAC registers with digest and shows in the API', { skip: hasBinary('sipp') ? false : 'sipp is not installed' }, async (t) => {
  const f = await sipFixture(t);
  const run = await runSipp(t, registerScenario({ user: f.creds.username, password: f.creds.password, domain: f.domain, aorUser: f.extension.number, expires: 600 }),
    `127.0.0.1:${f.ports.udp}`, ['-t', 'u1']);
  t.equal(run.code, 0, `sipp passed: ${run.errors}${run.stderr}`);
  const regs = await f.ta.call('GET', `/api/v1/extensions/${f.extension.id}/registrations`, { token: f.token });
  t.equal(regs.status, 200);
  t.equal(regs.body.items.length, 1);
  t.match(regs.body.items[0], { transport: 'udp', userAgent: 'sipp-test', source: /^127\.0\.0\.1:\d+$/ });
});
