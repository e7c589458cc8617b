import path from 'node:path';
import t from 'tap';
import { hasBinary } from '../provisioning/clients';
import { ROOT, run, startServe } from '../helpers/serve';
import { freePort } from '../helpers/sip';

const missing = ['curl', 'jq', 'sipp'].filter((b) => !hasBinary(b));
const skip = missing.length > 0 ? `${missing.join(', ')} not installed (.ci/apt-packages)` : false;

t.test("the README's calls walk-through runs unmodified against `dialtone serve`: both directions, 302/480, 911 with its location", { skip }, async (t) => {
  const d = await startServe(t);
  const walk = await run('bash', [path.join(ROOT, 'scripts', 'calls-walkthrough.sh')], { ...d.env, DIALTONE_URL: d.url, PBX_PORT: String(await freePort()) }, 110_000);
  t.equal(walk.code, 0, walk.code === 0 ? 'the script exits 0' : walk.output + d.log());
  t.match(walk.output, /P-Asserted-Identity: "Ada Lovelace" <sip:2001@calls\d+\.example\.com>/, "the PBX is told phone A's identity");
  t.match(walk.output, /the PBX's call reached phone B and ended with the PBX's BYE/);
  t.match(walk.output, /2003: SIP\/2\.0 302 Moved Temporarily <sip:5550100@calls\d+\.example\.com>/);
  t.match(walk.output, /2004: SIP\/2\.0 480 Temporarily Unavailable/);
  t.match(walk.output, /<ca:A3>Chicago<\/ca:A3>/, '911 carries the site address');
  t.match(walk.output, /^done: calls of calls\d+\.example\.com went both ways through dialtone/m);
});
