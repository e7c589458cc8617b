import type { Flow, SipTransport } from '../engine';
import { type SipNodes, connectionNode } from '../nodes';
import { nodeRouteToken, readNodeRouteToken } from './flow-token';

/** How long a node route stays good: the transaction it is sent in (64·T1), with room for clocks that differ between nodes. */
const NODE_ROUTE_MS = 5 * 60 * 1000;

/** The node holding a phone's connection, as a next hop: its address, and the Route naming the phone's flow there. */
export interface NodeHop {
  flow: Flow;
  route: string;
}

export type Reach = { here: true } | { hop: NodeHop } | { gone: string };

/**
 * Requests towards a phone whose TCP or WebSocket connection another node
 * holds go to that node, with a Route of its address carrying the phone's
 * flow (the `nf` parameter); that node relays them down the connection. The
 * forwarding node stays out of the dialog: the holding node record-routes.
 */
export function nodeHops(nodes: SipNodes, secret: Buffer) {
  return {
    /** How to reach `flow` for a request of `callId`; `prefer` is the transport to the other node when it has it. */
    async reach(flow: Flow, callId: string, prefer: SipTransport): Promise<Reach> {
      if (nodes.holds(flow)) return { here: true };
      const node = connectionNode(flow)!;
      const at = await nodes.address(node);
      const transport: 'udp' | 'tcp' | undefined = prefer !== 'ws' && at?.[prefer] ? prefer : at?.udp ? 'udp' : at?.tcp ? 'tcp' : undefined;
      if (!at || !transport) return { gone: node };
      const port = at[transport]!;
      const token = nodeRouteToken(secret, flow, callId, Date.now() + NODE_ROUTE_MS);
      return { hop: { flow: { transport, address: at.host, port }, route: `sip:${at.host}:${port};transport=${transport};lr;nf=${token}` } };
    },
    /** The phone's flow a node route names, when a node wrote it for this call and it is held here; null otherwise. */
    read(token: string, callId: string): Flow | null {
      const flow = readNodeRouteToken(secret, token, callId, Date.now());
      return flow && nodes.holds(flow) ? flow : null;
    },
    isNode: (host: string, port: number) => nodes.isNode(host, port),
  };
}

export type NodeHops = ReturnType<typeof nodeHops>;
