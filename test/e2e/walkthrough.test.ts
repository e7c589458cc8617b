import path from 'node:path';
import t from 'tap';
import { hasBinary } from '../provisioning/clients';
import { ROOT, run, startServe } from '../helpers/serve';

const missing = ['curl', 'jq', 'sipp'].filter((b) => !hasBinary(b));
const skip = missing.length > 0 ? `${missing.join(', ')} not installed (.ci/apt-packages)` : false;

t.test("the README's walk-through script runs unmodified against `dialtone serve` and ends with a phone registered", { skip }, async (t) => {
  const d = await startServe(t);
  const walk = await run('bash', [path.join(ROOT, 'scripts', 'walkthrough.sh')], { ...d.env, DIALTONE_URL: d.url });
  t.equal(walk.code, 0, walk.code === 0 ? 'the script exits 0' : walk.output + d.log());
  t.match(walk.output, /account\.1\.outbound_proxy\.1\.port = \d+/, 'the phone file names the registrar');
  t.match(walk.output, /"contact": "sip:1001@127\.0\.0\.1:\d+"/, 'the registration is listed');
  t.match(walk.output, /registration registered/, 'and in the device timeline');
  t.match(walk.output, /^done: extension 1001 of acme\d{6}\.example\.com is registered/m);
});
