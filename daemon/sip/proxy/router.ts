import dns from 'node:dns/promises';
import net from 'node:net';
import sip, { type NameAddr, type Uri } from 'sip';
import type { Logger } from '../../core/log';
import type { Flow, IncomingRequest, ProxyPlan, ProxyTarget, SipEngine, SipTransport } from '../engine';
import type { Registrar } from '../registrar/registrar';
import type { SipIdentity } from '../identity';
import { ENDPOINT_HEADER } from '../../pbx/edge';
import type { CallDirectory, CallParty } from './directory';
import { flowToken, readFlowToken, sameFlow } from './flow-token';
import type { NodeHops } from './node-hop';

/** Where a tenant's PBX is, and whether a request came from one. */
export interface PbxRoutes {
  /** The PBX calls from this tenant's phones go to, or null when none is configured. */
  pbxFor(tenantId: string): Promise<{ uri: string; flow: Flow } | null>;
  /** The tenants whose PBX this source is (its address, and over UDP its port), or null for anyone else. */
  pbxTenants(source: Flow): Promise<string[] | null>;
}

export type CallClassification = { emergency: boolean } | { refusal: { status: number; reason: string } };

/** What the router asks of the rest of dialtone about a call from a phone. */
export interface CallPolicy {
  /** Whether the extension may call this number (and whether it is an emergency call), or the status and reason phrase refusing it. */
  classify(caller: CallParty, dialed: string): Promise<CallClassification>;
  /** Before authentication, so that the lockout never stops an emergency call. */
  isEmergency(dialed: string): boolean;
  /** The emergency call's location: headers to add (its new Content-Type among them) and the body replacing the SDP. */
  location(caller: CallParty, sdp: string): { headers: Record<string, string>; content: string } | null;
}

export interface RouterDeps {
  engine: SipEngine;
  registrar: Registrar;
  directory: CallDirectory;
  pbx: PbxRoutes;
  policy: CallPolicy;
  /** Signs the flow tokens in our Record-Route. */
  flowSecret: Buffer;
  /** The other dialtone nodes, through which phones connected to them are reached. */
  hops: NodeHops;
  advertisedHost: string;
  log: Logger;
  /** Told the final status of every call (initial INVITE) the router handles, for the metrics. */
  callEnded?(direction: CallDirection, status: number): void;
}

export type CallDirection = 'to-phone' | 'to-pbx';

/** Requests a PBX may send to a phone outside a dialog (OPTIONS is answered here, from the bindings). */
const TO_PHONE = new Set(['INVITE', 'MESSAGE', 'NOTIFY']);
/** Requests a phone may send to its PBX outside a dialog. */
const TO_PBX = new Set(['INVITE', 'MESSAGE', 'SUBSCRIBE']);
const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, NOTIFY, SUBSCRIBE, REFER, INFO, UPDATE, PRACK, REGISTER';
/** Caller identity headers only dialtone may set: a phone's own are dropped. */
const IDENTITY_HEADERS = ['p-asserted-identity', 'p-preferred-identity', 'proxy-authorization', ENDPOINT_HEADER.toLowerCase()];

/**
 * dialtone as the phones' edge proxy, the whole path of a call in one place
 * (as a Kamailio routing script reads): hygiene first, then requests inside
 * a dialog follow the Record-Route they carry, requests from the PBX go to
 * every phone registered for the extension, and requests from phones are
 * authenticated and go to their tenant's PBX.
 */
export function callRouter(d: RouterDeps) {
  const { engine } = d;

  /** A URI of this node, or of another node sharing Redis: its flow tokens are read here as they are there. */
  function ourUri(uri: Uri | string): Uri | null {
    const u = typeof uri === 'string' ? sip.parseUri(uri) : uri;
    if (!u || u.user) return null;
    const port = u.port ?? 5060;
    if (u.host.toLowerCase() === d.advertisedHost.toLowerCase() && Object.values(engine.addresses()).includes(port)) return u;
    return d.hops.isNode(u.host, port) ? u : null;
  }

  /** Our URIs at the top of the Route set, taken off (two of them after a transport change, RFC 5658), and what is left. */
  function popOurRoutes(routes: NameAddr[]): { ours: Uri[]; rest: NameAddr[] } {
    const ours: Uri[] = [];
    let i = 0;
    while (i < routes.length && ours.length < 2) {
      const u = ourUri(routes[i]!.uri as unknown as Uri | string);
      if (!u) break;
      ours.push(u);
      i++;
    }
    return { ours, rest: routes.slice(i) };
  }

  /** Our Record-Route for a request crossing from `from` to `to`, naming the phone's flow; top first. */
  function recordRoute(phone: Flow, from: Flow, to: Flow): string[] {
    const token = flowToken(d.flowSecret, phone);
    const ports = engine.addresses();
    const uri = (t: SipTransport) => `sip:${d.advertisedHost}:${ports[t] ?? ports.udp};transport=${t};lr;ft=${token}`;
    return from.transport === to.transport ? [uri(to.transport)] : [uri(to.transport), uri(from.transport)];
  }

  /** The flow of a next hop named by a URI: a Route of someone else's, or a Request-URI. */
  async function hopFlow(uri: Uri | string): Promise<Flow | null> {
    const u = typeof uri === 'string' ? sip.parseUri(uri) : uri;
    if (!u) return null;
    const transport = String(u.params?.transport ?? 'udp').toLowerCase();
    if (transport !== 'udp' && transport !== 'tcp') return null;
    const address = net.isIP(u.host.replace(/^\[|\]$/g, '')) ? u.host.replace(/^\[|\]$/g, '') : (await dns.lookup(u.host).catch(() => null))?.address;
    return address ? { transport, address, port: u.port ?? 5060 } : null;
  }

  function refuse(req: IncomingRequest, status: number, reason: string, why?: string): void {
    req.reply(status, reason, why ? { headers: { warning: `399 dialtone "${why}"` } } : {});
  }

  /** RFC 3261 §16.3: what every request must pass before it is relayed. */
  function sane(req: IncomingRequest): boolean {
    const raw = req.message.headers['max-forwards'];
    if (raw !== undefined) {
      const text = String(raw).trim();
      if (!/^\d{1,3}$/.test(text) || Number(text) > 255) {
        refuse(req, 400, 'Bad Request', 'bad Max-Forwards');
        return false;
      }
      if (Number(text) === 0) {
        refuse(req, 483, 'Too Many Hops');
        return false;
      }
    }
    if (engine.isLoop(req)) {
      refuse(req, 482, 'Loop Detected');
      return false;
    }
    return true;
  }

  /** A request inside a dialog dialtone record-routed: towards the phone by its flow token, towards the PBX by its address. */
  async function inDialog(req: IncomingRequest, ours: Uri[], rest: NameAddr[]): Promise<void> {
    const token = ours.map((u) => u.params?.ft).find((t): t is string => typeof t === 'string');
    const phone = token ? readFlowToken(d.flowSecret, token) : null;
    if (!phone) {
      refuse(req, 403, 'Forbidden', 'not a Route dialtone wrote');
      return;
    }
    const m = req.message;
    let flow: Flow | null;
    if (sameFlow(phone, req.source)) {
      // From the phone: to the next Route, else the Request-URI, which must be a PBX's.
      flow = await hopFlow(rest[0]?.uri ?? m.uri!);
      if (!flow || !(await d.pbx.pbxTenants(flow))) {
        refuse(req, 403, 'Forbidden', 'a phone reaches only its PBX through dialtone');
        return;
      }
    } else if (await d.pbx.pbxTenants(req.source)) {
      const target = await towards(phone, m.uri!, [], req, false);
      if (!target) {
        refuse(req, 480, 'Temporarily Unavailable', 'the dialtone node holding the phone\'s connection is not running');
        return;
      }
      engine.proxy(req, { targets: [target], route: rest });
      return;
    } else {
      refuse(req, 403, 'Forbidden', 'neither the phone nor its PBX');
      return;
    }
    engine.proxy(req, { targets: [{ uri: m.uri!, flow }], route: rest });
  }

  /**
   * A branch towards a phone's flow: on the flow when this node holds it,
   * else through the node that does (which record-routes in our stead); null
   * when that node is not running.
   */
  async function towards(phone: Flow, uri: string, path: string[], req: IncomingRequest, recordRouted: boolean): Promise<ProxyTarget | null> {
    const reach = await d.hops.reach(phone, req.message.headers['call-id']!, req.source.transport);
    if ('gone' in reach) {
      d.log.info({ node: reach.gone, method: req.message.method }, 'a phone\'s connection is held by a dialtone node that is not running; branch skipped');
      return null;
    }
    if ('hop' in reach) return { uri, flow: reach.hop.flow, route: [reach.hop.route, ...path] };
    return { uri, flow: phone, route: path, recordRoute: recordRouted ? recordRoute(phone, req.source, phone) : [] };
  }

  /** From another node: down the phone's connection held here, named by the node route (see node-hop.ts). */
  function forwarded(req: IncomingRequest, token: string, rest: NameAddr[]): void {
    const m = req.message;
    const phone = d.hops.read(token, m.headers['call-id']!);
    if (!phone) {
      if (m.method !== 'ACK') refuse(req, 403, 'Forbidden', 'not a node route for this call and a connection held here');
      return;
    }
    const initialInvite = m.method === 'INVITE' && m.headers.to?.params.tag === undefined;
    engine.proxy(req, { targets: [{ uri: m.uri!, flow: phone, recordRoute: initialInvite ? recordRoute(phone, req.source, phone) : [] }], route: rest });
  }

  /** PBX → phone: every current binding of the called extension, in parallel. */
  async function toPhone(req: IncomingRequest, tenants: string[], rest: NameAddr[]): Promise<void> {
    const m = req.message;
    const target = sip.parseUri(m.uri ?? '');
    const user = target?.user ?? sip.parseUri(m.headers.to?.uri ?? '')?.user;
    if (!target || !user) {
      refuse(req, 404, 'Not Found', 'the Request-URI names no extension');
      return;
    }
    let domain = target.host.toLowerCase();
    let tenantId = await d.directory.tenantOf(domain);
    if (!tenantId) {
      domain = sip.parseUri(m.headers.to?.uri ?? '')?.host.toLowerCase() ?? '';
      tenantId = await d.directory.tenantOf(domain);
    }
    if (!tenantId && tenants.length === 1) {
      tenantId = tenants[0]!;
      domain = (await d.directory.domainOf(tenantId)) ?? domain;
    }
    if (!tenantId || !tenants.includes(tenantId)) {
      refuse(req, 404, 'Not Found', 'no tenant of this PBX has that domain');
      return;
    }
    const called = await d.directory.called(tenantId, domain, user);
    if (!called) {
      refuse(req, 404, 'Not Found', 'no such extension');
      return;
    }
    const bindings = await d.registrar.bindings(called.aor);
    if (m.method === 'OPTIONS') {
      // The PBX's qualify: its idea of the phone's state follows dialtone's registrations.
      req.reply(bindings.length > 0 ? 200 : 480, bindings.length > 0 ? 'OK' : 'Temporarily Unavailable', { headers: { allow: ALLOW } });
      return;
    }
    if (!TO_PHONE.has(m.method!)) {
      req.reply(405, 'Method Not Allowed', { headers: { allow: 'INVITE, MESSAGE, NOTIFY, OPTIONS' } });
      return;
    }
    if (bindings.length === 0) {
      const rule = called.extension.forwarding.find((f) => f.enabled && (f.condition === 'notRegistered' || f.condition === 'internetDown'));
      if (rule && m.method === 'INVITE') {
        req.reply(302, 'Moved Temporarily', { headers: { contact: [{ uri: forwardUri(rule.destination, domain), params: {} }] } });
      } else {
        req.reply(480, 'Temporarily Unavailable', { headers: { warning: '399 dialtone "no phone is registered for this extension"' } });
      }
      return;
    }
    const targets = (await Promise.all(bindings.map((b) => towards(b.source, b.contact, b.path, req, m.method === 'INVITE'))))
      .filter((t): t is ProxyTarget => t !== null);
    if (targets.length === 0) {
      req.reply(480, 'Temporarily Unavailable', { headers: { warning: '399 dialtone "the dialtone node holding the phone\'s connection is not running"' } });
      return;
    }
    engine.proxy(req, { targets, route: rest });
  }

  /** Phone → PBX: authenticated as an extension, within its calling permission, with its identity asserted. */
  async function toPbx(req: IncomingRequest, rest: NameAddr[]): Promise<void> {
    const m = req.message;
    if (m.method === 'OPTIONS') {
      d.registrar.handle(req);
      return;
    }
    if (!TO_PBX.has(m.method!)) {
      req.reply(405, 'Method Not Allowed', { headers: { allow: 'INVITE, MESSAGE, SUBSCRIBE, OPTIONS, REGISTER' } });
      return;
    }
    const domain = sip.parseUri(m.headers.from?.uri ?? '')?.host.toLowerCase();
    const dialed = sip.parseUri(m.uri ?? '')?.user ?? '';
    if (!domain) {
      refuse(req, 400, 'Bad Request', 'the From header names no domain');
      return;
    }
    const emergency = m.method === 'INVITE' && d.policy.isEmergency(dialed);
    const identity: SipIdentity | null = await d.registrar.authenticate(req, domain, { emergency });
    if (!identity) return;
    if (identity.kind !== 'extension' || !identity.extensionId) {
      refuse(req, 403, 'Forbidden', 'activation credentials reach only the registration service');
      return;
    }
    const caller = await d.directory.caller(identity.extensionId, identity.realm);
    const classified = await d.policy.classify(caller, dialed);
    if ('refusal' in classified) {
      req.reply(classified.refusal.status, classified.refusal.reason);
      return;
    }
    const pbx = await d.pbx.pbxFor(caller.tenantId);
    if (!pbx) {
      refuse(req, 480, 'Temporarily Unavailable', 'no PBX is configured for this tenant');
      return;
    }
    const cid = caller.extension.callerId;
    const plan: ProxyPlan = {
      targets: [{ uri: m.uri!, flow: pbx.flow, recordRoute: m.method === 'MESSAGE' ? [] : recordRoute(req.source, req.source, pbx.flow) }],
      route: rest,
      remove: IDENTITY_HEADERS,
      set: {
        'p-asserted-identity': `${quoted(cid.name)} <sip:${cid.number || caller.extension.number}@${caller.domain}>`,
        [ENDPOINT_HEADER.toLowerCase()]: identity.username,
      },
    };
    if (classified.emergency && m.method === 'INVITE') {
      const sdp = /^application\/sdp/i.test(String(m.headers['content-type'] ?? '')) ? m.content ?? '' : '';
      const located = d.policy.location(caller, sdp);
      if (located) {
        Object.assign(plan.set!, located.headers);
        plan.content = located.content;
      } else {
        d.log.warn({ extensionId: caller.extension.id }, 'emergency call without an emergency address: relayed without a location');
      }
    }
    engine.proxy(req, plan);
  }

  /**
   * Has the request's first final answer told to callEnded, whoever gives it
   * (the router, or the proxy relaying a branch's). The request object itself
   * is kept: an engine may know its requests by identity (drachtio's).
   */
  function counted(req: IncomingRequest, direction: CallDirection): IncomingRequest {
    if (!d.callEnded) return req;
    const reply = req.reply;
    let told = false;
    req.reply = (status, reason, opts) => {
      if (!told && status >= 200) {
        told = true;
        d.callEnded!(direction, status);
      }
      reply(status, reason, opts);
    };
    return req;
  }

  async function route(req: IncomingRequest): Promise<void> {
    const m = req.message;
    if (m.method === 'ACK' || sane(req)) {
      const { ours, rest } = popOurRoutes((m.headers.route as NameAddr[] | undefined) ?? []);
      const nodeRoute = ours.map((u) => u.params?.nf).find((t): t is string => typeof t === 'string');
      if (nodeRoute) {
        forwarded(req, nodeRoute, rest);
        return;
      }
      if (m.headers.to?.params.tag !== undefined) {
        if (ours.length > 0) await inDialog(req, ours, rest);
        else if (m.method !== 'ACK') refuse(req, 481, 'Call/Transaction Does Not Exist');
        return;
      }
      if (m.method === 'ACK') return;
      if (m.method === 'CANCEL') {
        // A CANCEL of a request being relayed was answered by the engine: this one matches nothing.
        refuse(req, 481, 'Call/Transaction Does Not Exist');
        return;
      }
      const tenants = await d.pbx.pbxTenants(req.source);
      const call = m.method === 'INVITE' ? counted(req, tenants ? 'to-phone' : 'to-pbx') : req;
      if (tenants) await toPhone(call, tenants, rest);
      else await toPbx(call, rest);
    }
  }

  return {
    /** Everything but registrations: the registrar keeps REGISTER, and OPTIONS addressed to dialtone itself. */
    owns(req: IncomingRequest): boolean {
      const m = req.message;
      if (m.method === 'REGISTER') return false;
      return !(m.method === 'OPTIONS' && !m.headers.to?.params.tag && !sip.parseUri(m.uri ?? '')?.user);
    },
    handle(req: IncomingRequest): void {
      route(req).catch((err: unknown) => {
        d.log.error({ err, method: req.message.method, source: `${req.source.transport}:${req.source.address}:${req.source.port}` }, 'routing a SIP request failed');
        req.reply(500, 'Server Internal Error');
      });
    },
  };
}

function quoted(name: string): string {
  return `"${name.replace(/["\\]/g, '')}"`;
}

/** A forwarding destination as a Contact: a number at the tenant's domain, or a SIP URI as given. */
function forwardUri(destination: string, domain: string): string {
  return /^sips?:/i.test(destination) ? destination : `sip:${destination}@${domain}`;
}
