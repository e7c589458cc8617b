import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../core/component';
import { ValidationError } from '../core/errors';
import { isPlainObject } from '../admin/domain/fields';
import { findExtension, sipCredentials } from '../admin/service/extensions';
import { idParams } from '../admin/api/schemas';
import { bearerAuth } from '../http/auth';
import { extensionAor } from './extension-identity';
import type { SipService } from './service';

type Id = { Params: { id: string } };

/** An Event header value: a token with parameters, nothing that could end the header. */
const EVENT = /^[A-Za-z0-9.!%*_+`'~-]{1,40}(;[A-Za-z0-9.!%*_+`'~-]{1,40}(=[A-Za-z0-9.!%*_+`'~-]{1,40})?){0,5}$/;

export function resyncEvent(body: unknown): string {
  const input = body === undefined || body === null ? {} : body;
  if (!isPlainObject(input)) throw new ValidationError([{ field: 'body', reason: 'must be a JSON object' }]);
  for (const key of Object.keys(input)) {
    if (key !== 'reboot' && key !== 'event') throw new ValidationError([{ field: key, reason: 'is not a resync option (reboot, event)' }]);
  }
  if (input.reboot !== undefined && typeof input.reboot !== 'boolean') throw new ValidationError([{ field: 'reboot', reason: 'must be true or false' }]);
  if (input.event !== undefined) {
    if (typeof input.event !== 'string' || !EVENT.test(input.event)) {
      throw new ValidationError([{ field: 'event', reason: 'must be a SIP Event value such as check-sync;reboot=false' }]);
    }
    return input.event;
  }
  return `check-sync;reboot=${input.reboot === true}`;
}

/** Registrations, SIP credentials and resync of an extension, under /api/v1. */
export function sipRoutes(rt: Runtime, sip: SipService) {
  const knex = rt.db.knex;
  const aorOf = async (scope: Parameters<typeof findExtension>[1], id: string) => {
    const ext = await findExtension(knex, scope, id);
    const tenant = await knex('tenants').where('id', ext.tenantId).first('sip_domain');
    return extensionAor(ext.number, tenant.sip_domain);
  };
  return async function register(app: FastifyInstance): Promise<void> {
    app.addHook('preHandler', bearerAuth(knex));

    app.get<Id>('/extensions/:id/registrations', {
      schema: { tags: ['extensions'], params: idParams, summary: 'Contacts registered for the extension now' },
    }, async (req) => {
      const aor = await aorOf(req.scope, req.params.id);
      const now = Date.now();
      const bindings = await sip.registrar.bindings(aor);
      return {
        aor,
        items: bindings.map((b) => ({
          contact: b.contact, source: `${b.source.address}:${b.source.port}`, transport: b.source.transport,
          userAgent: b.userAgent, path: b.path, registeredAt: new Date(b.registeredAt).toISOString(),
          expiresAt: new Date(b.expiresAt).toISOString(), expiresIn: Math.max(0, Math.round((b.expiresAt - now) / 1000)),
        })),
      };
    });

    app.get<Id>('/extensions/:id/sip-credentials', {
      schema: { tags: ['extensions'], params: idParams, summary: 'SIP credentials for a device dialtone does not provision, such as a softphone' },
    }, async (req) => {
      const creds = await sipCredentials({ knex, secrets: rt.secrets }, req.scope, req.params.id);
      rt.log.info({ actor: req.scope.actor, extensionId: req.params.id }, 'SIP credentials disclosed');
      return { ...creds, registrar: sip.registrarAddress(), websocket: sip.websocketUrl() };
    });

    app.post<Id>('/extensions/:id/resync', {
      schema: { tags: ['extensions'], params: idParams, summary: 'Send the resync NOTIFY to every registered contact of the extension' },
    }, async (req) => {
      const event = resyncEvent(req.body);
      const aor = await aorOf(req.scope, req.params.id);
      return { aor, event, results: await sip.resync(aor, event) };
    });
  };
}
