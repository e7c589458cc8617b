import dns from 'node:dns/promises';
import net from 'node:net';
import sip from 'sip';
import type { Component, Runtime } from '../../core/component';
import type { Flow, SipTransport } from '../engine';
import type { SipService } from '../service';
import { callDirectory } from './directory';
import { type CallPolicy, type PbxDirectory, callRouter } from './router';

/** The default PBX of DIALTONE_PBX_URI, serving every tenant. */
function defaultPbx(rt: Runtime): PbxDirectory {
  const uri = rt.config.pbxUri;
  const parsed = uri ? sip.parseUri(uri) : undefined;
  const transport = String(parsed?.params?.transport ?? 'udp').toLowerCase() as SipTransport;
  let resolved: Promise<Flow | null> | null = null;
  const flow = () => (resolved ??= (async () => {
    if (!parsed) return null;
    const host = parsed.host.replace(/^\[|\]$/g, '');
    const address = net.isIP(host) ? host : (await dns.lookup(host)).address;
    return { transport, address, port: parsed.port ?? 5060 };
  })());
  return {
    async pbxFor() {
      const f = await flow();
      return f && uri ? { uri, flow: f } : null;
    },
    async pbxTenants(source) {
      const f = await flow();
      if (!f || source.address !== f.address || source.transport !== f.transport || (f.transport === 'udp' && source.port !== f.port)) return null;
      return (await rt.db.knex('tenants').select('id')).map((r) => r.id as string);
    },
  };
}

function policy(rt: Runtime): CallPolicy {
  const emergency = new Set(rt.config.emergencyNumbers);
  return {
    isEmergency: (dialed) => emergency.has(dialed),
    refusal: async () => null,
    location: () => null,
  };
}

/** Calls between phones and their PBX, relayed through the registrar's bindings. */
export function callsComponent(rt: Runtime, sip: SipService): Component {
  const router = callRouter({
    engine: sip.engine, registrar: sip.registrar, directory: callDirectory(rt.db.knex), pbx: defaultPbx(rt), policy: policy(rt),
    flowSecret: rt.secrets.derive('sip-flow-token'), advertisedHost: sip.advertisedHost, log: rt.log.child({ component: 'calls' }),
  });
  return {
    name: 'calls',
    async start() {
      sip.serve(router);
    },
  };
}
