import os from 'node:os';
import type { Component, Runtime } from '../core/component';
import type { Logger } from '../core/log';
import { ConfigError } from '../config/load';
import { PROMPT_NAMES } from '../activation/entry';
import { Pacer } from '../media/pacer';
import { PortPool } from '../media/ports';
import { PromptError, builtinPromptsDir, loadPrompts } from '../media/prompts';
import { bearerAuth } from '../http/auth';
import type { TimelineWriter } from '../provisioning/serve/timeline-writer';
import type { SipService } from '../sip/service';
import { resyncOnChange } from './auto-resync';
import { type MediaDeps, registrationService } from './registration-service';
import { resyncDevice } from './resync';
import { recordRegistrations } from './timeline';

/**
 * Where SIP meets provisioning: registrations land in the device timeline,
 * phones are resynced on demand and whenever their configuration changes,
 * and pending phones activate themselves through the registration service.
 */
export function phonesComponent(rt: Runtime, sip: SipService, timeline: TimelineWriter): Component {
  const knex = rt.db.knex;
  const log = rt.log.child({ component: 'phones' });
  const auto = resyncOnChange(knex, sip, rt.config.activationDomain, log);
  const activations = rt.metrics.counter('dialtone_activations_total', 'Activation codes keyed in at the registration service, by result (activated, mistyped, unknown, expired).', ['result']);
  const ivrCalls = rt.metrics.counter('dialtone_ivr_calls_total', 'Calls (initial INVITEs) handed to the registration service.').cell();
  const service = registrationService({
    knex, secrets: rt.secrets, changes: rt.changes, sip, log, activationDomain: rt.config.activationDomain,
    serviceNumber: rt.config.registrationService, media: registrationMedia(rt, log),
    onActivation: (result) => activations.inc(result),
  });
  let stops: (() => void)[] = [];
  return {
    name: 'phones',
    async http(app) {
      await app.register(async (api) => {
        api.addHook('preHandler', bearerAuth(knex));
        api.post<{ Params: { id: string }; Body: { reboot?: unknown } }>('/devices/:id/resync', {
          schema: {
            tags: ['devices'], summary: "Send the phone its vendor's resync NOTIFY (configuration, or reboot with {\"reboot\": true})",
            params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } }, required: ['id'] },
          },
        }, async (req) => resyncDevice(knex, sip, rt.config.activationDomain, req.scope.tenantId, req.params.id, (req.body as { reboot?: unknown } | undefined)?.reboot === true));
      }, { prefix: '/api/v1' });
    },
    async start() {
      sip.serve({
        owns: (req) => service.owns(req),
        handle: (req) => {
          if (req.message.method === 'INVITE' && !req.message.headers.to?.params?.tag) ivrCalls.inc();
          service.handle(req);
        },
        busy: () => service.calls,
      });
      // Changes made here only: one NOTIFY per change, from the node that made it, whichever node the phone is on.
      stops = [recordRegistrations(timeline, sip), rt.changes.subscribe(auto.listener), auto.stop, service.stop];
    },
    async stop() {
      for (const stop of stops) stop();
      stops = [];
    },
  };
}

/**
 * The registration service's audio: prompts read at start-up (a missing one
 * stops the daemon), ports from DIALTONE_RTP_PORTS, advertised at
 * DIALTONE_MEDIA_HOST (where phones reach SIP, unless set), and bound there when that
 * is an address of this machine (otherwise, behind a 1:1 NAT, on all addresses).
 */
function registrationMedia(rt: Runtime, log: Logger): MediaDeps {
  const c = rt.config;
  let prompts: MediaDeps['prompts'];
  try {
    prompts = loadPrompts(c.promptsDir ?? builtinPromptsDir(), c.promptsLanguage, PROMPT_NAMES);
  } catch (err) {
    if (err instanceof PromptError) throw new ConfigError(err.message);
    throw err;
  }
  const host = c.mediaHost;
  const local = Object.values(os.networkInterfaces()).some((list) => list?.some((a) => a.address === host));
  const bindTo = local ? host : host.includes(':') ? '::' : '0.0.0.0';
  return { prompts, host, pool: new PortPool(c.rtpPorts, bindTo), pacer: new Pacer((err) => log.error({ err }, 'audio frame failed')) };
}
