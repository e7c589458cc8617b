import t from 'tap';
import type { Flow } from '../../../daemon/sip/engine';
import { flowToken, nodeRouteToken, readFlowToken, readNodeRouteToken } from '../../../daemon/sip/proxy/flow-token';
import { nodeHops } from '../../../daemon/sip/proxy/node-hop';
import { LocalNodes, type NodeAddress, type SipNodes, connectionId, connectionNode } from '../../../daemon/sip/nodes';

const SECRET = Buffer.alloc(32, 7);
const OTHER = Buffer.alloc(32, 8);
const phone: Flow = { transport: 'tcp', address: '192.0.2.10', port: 50123, connectionId: connectionId('tcp', 'b0b0b0b0', 12) };

t.test('a node route names the phone\'s flow for one call, until a time, under its own key', async (t) => {
  const now = 1_800_000_000_000;
  const token = nodeRouteToken(SECRET, phone, 'call-1@x', now + 60_000);
  t.same(readNodeRouteToken(SECRET, token, 'call-1@x', now), phone);
  t.equal(readNodeRouteToken(SECRET, token, 'call-2@x', now), null, 'not for another call');
  t.equal(readNodeRouteToken(SECRET, token, 'call-1@x', now + 60_001), null, 'not after its time');
  t.equal(readNodeRouteToken(OTHER, token, 'call-1@x', now), null, 'not under another key');
  const [body, until, sig] = token.split('.');
  t.equal(readNodeRouteToken(SECRET, `${body}.${(now + 10 ** 9).toString(36)}.${sig}`, 'call-1@x', now), null, 'its time cannot be moved');
  t.equal(readNodeRouteToken(SECRET, `${body}.${until}`, 'call-1@x', now), null, 'truncated');
  t.equal(readNodeRouteToken(SECRET, `${body}.${until}.${sig}.x`, 'call-1@x', now), null);
  t.equal(readNodeRouteToken(SECRET, `${body}.-1.${sig}`, 'call-1@x', now), null);
  t.equal(readNodeRouteToken(SECRET, 'a'.repeat(500), 'call-1@x', now), null, 'too long');
  t.equal(readNodeRouteToken(SECRET, flowToken(SECRET, phone), 'call-1@x', now), null, "a Record-Route's flow token is no node route");
  t.equal(readFlowToken(SECRET, token), null, 'nor is a node route a flow token');
});

t.test('a connection id names the node holding it', async (t) => {
  t.equal(connectionNode(phone), 'b0b0b0b0');
  t.equal(connectionNode({ transport: 'udp', address: '192.0.2.1', port: 5060 }), null, 'UDP has no connection');
  t.equal(connectionNode({ ...phone, connectionId: 'tcp-../x-1' }), null, 'a malformed id names nobody');
});

/** Node entries as Redis would hold them, without Redis: the routing decision alone. */
function nodesWith(id: string, others: Record<string, NodeAddress>): SipNodes {
  return {
    id,
    holds: (flow) => (connectionNode(flow) ?? id) === id,
    address: async (node) => others[node] ?? null,
    isNode: () => false,
    start: async () => {},
    stop: async () => {},
  };
}

t.test('a phone is reached here, through the node holding its connection, or not at all', async (t) => {
  const a = nodeHops(nodesWith('a0a0a0a0', { b0b0b0b0: { host: '10.0.0.2', udp: 5060, tcp: 5060 } }), SECRET);
  t.same(await a.reach({ transport: 'udp', address: '192.0.2.1', port: 5060 }, 'c', 'udp'), { here: true }, 'UDP is sent from here');
  const hop = await a.reach(phone, 'call-9', 'tcp');
  if (!('hop' in hop)) throw new Error('expected a hop');
  t.same(hop.hop.flow, { transport: 'tcp', address: '10.0.0.2', port: 5060 }, 'to node B, over the transport the request came on');
  t.match(hop.hop.route, /^sip:10\.0\.0\.2:5060;transport=tcp;lr;nf=/);
  const b = nodeHops(nodesWith('b0b0b0b0', {}), SECRET);
  t.same(b.read(hop.hop.route.split('nf=')[1]!, 'call-9'), phone, 'node B reads the phone\'s flow');
  t.equal(b.read(hop.hop.route.split('nf=')[1]!, 'call-8'), null);
  t.equal(a.read(hop.hop.route.split('nf=')[1]!, 'call-9'), null, 'a node that does not hold the connection relays nothing');
  t.same(await a.reach({ ...phone, connectionId: connectionId('tcp', 'deadbeef', 1) }, 'c', 'udp'), { gone: 'deadbeef' }, 'a node that is not running');
  const ws = await a.reach(phone, 'c', 'ws');
  t.match(ws, { hop: { flow: { transport: 'udp' } } }, 'nodes speak UDP or TCP to each other');
  t.same(await nodeHops(new LocalNodes(), SECRET).reach(phone, 'c', 'udp'), { here: true }, 'without Redis every connection is this process\'s');
});
