import type { Component, Runtime } from '../../core/component';
import type { Flow } from '../engine';
import type { SipService } from '../service';
import { areaCodeOf, decideCall, emergencyNumberOf, planFor } from './dial-plan';
import { type CallDirectory, callDirectory } from './directory';
import { locateInvite } from './emergency';
import { PbxDirectory } from './pbx';
import { type CallPolicy, type PbxRoutes, callRouter } from './router';

/** Transports the built-in engine can open towards a PBX. */
const RELAYABLE = new Set(['udp', 'tcp']);

function pbxRoutes(rt: Runtime, pbx: PbxDirectory): PbxRoutes {
  return {
    async pbxFor(tenantId) {
      const p = await pbx.pbxFor(tenantId);
      const address = p?.addresses[0];
      if (!p || !address) return null;
      if (!RELAYABLE.has(p.transport)) {
        rt.log.warn({ tenantId, uri: p.uri }, 'the PBX URI asks for a transport dialtone cannot relay to (use udp or tcp)');
        return null;
      }
      return { uri: p.uri, flow: { transport: p.transport as Flow['transport'], address, port: p.port } };
    },
    async pbxTenants(source) {
      return pbx.isFromPbx(source);
    },
  };
}

/** Calling permission by the dial plan of the caller's emergency address's country, and the emergency call's location. */
function callPolicy(rt: Runtime, directory: CallDirectory): CallPolicy {
  const emergencyNumbers = rt.config.emergencyNumbers;
  const context = async (caller: Parameters<CallPolicy['classify']>[0], dialed: string) => {
    const plan = planFor(caller.extension.emergencyAddress?.country);
    const internal = await directory.isExtension(caller.tenantId, dialed);
    return { plan, areaCode: areaCodeOf(caller.extension.callerId.number, plan), emergencyNumbers, isExtension: (u: string) => internal && u === dialed };
  };
  return {
    async classify(caller, dialed) {
      const decision = decideCall(dialed, caller.extension.externalCalling, await context(caller, dialed));
      return decision.allow ? { emergency: decision.class === 'emergency' } : { refusal: { status: decision.status, reason: decision.reason } };
    },
    isEmergency: (dialed) => emergencyNumberOf(dialed, emergencyNumbers) !== null,
    location(caller, sdp) {
      const address = caller.extension.emergencyAddress;
      if (!address) return null;
      const located = locateInvite(sdp, { address, number: caller.extension.number, domain: caller.domain, at: new Date() });
      return { headers: { ...located.headers, 'content-type': located.contentType }, content: located.body };
    },
  };
}

/** Calls between phones and their PBX, relayed through the registrar's bindings. */
export function callsComponent(rt: Runtime, sip: SipService): Component {
  const pbx = new PbxDirectory({ knex: rt.db.knex, changes: rt.changes, defaultUri: rt.config.pbxUri, log: rt.log.child({ component: 'pbx-directory' }) });
  const directory = callDirectory(rt.db.knex);
  const calls = rt.metrics.counter('dialtone_calls_total', 'Calls (initial INVITEs) dialtone relayed or answered, by direction and final status code.', ['direction', 'status']);
  const router = callRouter({
    callEnded: (direction, status) => calls.inc(direction, String(status)),
    engine: sip.engine, registrar: sip.registrar, directory, pbx: pbxRoutes(rt, pbx), policy: callPolicy(rt, directory),
    flowSecret: rt.secrets.derive('sip-flow-token'), hops: sip.hops, advertisedHost: sip.advertisedHost, log: rt.log.child({ component: 'calls' }),
  });
  return {
    name: 'calls',
    async start() {
      await pbx.start();
      sip.serve(router);
    },
    async stop() {
      await pbx.stop();
    },
  };
}
