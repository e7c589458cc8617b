import type { Component, Runtime } from '../core/component';
import { bearerAuth } from '../http/auth';
import type { SipService } from '../sip/service';
import { resyncOnChange } from './auto-resync';
import { registrationService } from './registration-service';
import { resyncDevice } from './resync';
import { recordRegistrations } from './timeline';

/**
 * Where SIP meets provisioning: registrations land in the device timeline,
 * phones are resynced on demand and whenever their configuration changes,
 * and pending phones activate themselves through the registration service.
 */
export function phonesComponent(rt: Runtime, sip: SipService): Component {
  const knex = rt.db.knex;
  const log = rt.log.child({ component: 'phones' });
  const auto = resyncOnChange(knex, sip, rt.config.activationDomain, log);
  const service = registrationService({
    knex, secrets: rt.secrets, changes: rt.changes, sip, log, activationDomain: rt.config.activationDomain,
    serviceNumber: rt.config.registrationService, mediaHost: rt.config.sipHost,
    advertisedHost: sip.registrarAddress().replace(/:\d+$/, ''),
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
      sip.serve(service);
      stops = [recordRegistrations(knex, sip, log), rt.changes.subscribe(auto.listener), auto.stop, service.stop];
    },
    async stop() {
      for (const stop of stops) stop();
      stops = [];
    },
  };
}
