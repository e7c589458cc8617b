import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Knex } from 'knex';
import { DomainError, ValidationError } from '../core/errors';
import { getUser } from '../admin/service/users';
import { bearerAuth } from '../http/auth';
import { idParams, pageQuery } from '../admin/api/schemas';
import { listAudit } from '../audit/log';
import { checkLink } from './links';
import type { NoticeDeps } from './notices';
import { sendResetLink } from './notices';
import { accountPage, forgotPage, linkRefusedPage, passwordSetPage, setPasswordPage, signInPage } from './pages';
import { RateLimiter } from './rate-limit';
import { endSession, profilesForForgot, RateLimitedError, sessionUser, setPasswordWithLink, signIn } from './service';

const COOKIE = 'dialtone_session';
const FORM_LIMIT = 16 * 1024;

function cookie(req: FastifyRequest): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return v.join('=');
  }
  return undefined;
}

function html(reply: FastifyReply, status: number, body: string): FastifyReply {
  // No script runs on these pages; the policy says so, and nothing may frame them or learn the link from a Referer.
  return reply.status(status).headers({
    'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY', 'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
  }).send(body);
}

const field = (body: unknown, name: string): string => {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : '';
};

/** The pages a person uses: choose a password from an emailed link, sign in, ask for a reset. */
export function accountPages(d: NoticeDeps, limiter: RateLimiter, secureCookie: boolean) {
  const knex = d.knex;
  return async function register(app: FastifyInstance): Promise<void> {
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_LIMIT }, (_req, body: string, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body)));
    });
    const hide = { schema: { hide: true }, config: { accepts: ['application/x-www-form-urlencoded'] } };

    app.get<{ Querystring: { token?: string } }>('/set-password', hide, async (req, reply) => {
      const state = await checkLink(knex, req.query.token ?? '');
      if (!state.ok) return html(reply, state.reason === 'unknown' ? 404 : 410, linkRefusedPage(state.reason));
      return html(reply, 200, setPasswordPage({ token: req.query.token!, username: state.user.username }));
    });
    app.post('/set-password', hide, async (req, reply) => {
      const token = field(req.body, 'token');
      const result = await setPasswordWithLink(knex, token, field(req.body, 'password'), field(req.body, 'confirm'));
      if (result.ok) return html(reply, 200, passwordSetPage(result.user.username));
      if ('state' in result) return html(reply, result.state.reason === 'unknown' ? 404 : 410, linkRefusedPage(result.state.reason));
      const state = await checkLink(knex, token);
      return html(reply, 400, setPasswordPage({ token, username: state.ok ? state.user.username : '', problems: result.problems }));
    });

    app.get('/sign-in', hide, async (_req, reply) => html(reply, 200, signInPage()));
    app.post('/sign-in', hide, async (req, reply) => {
      const username = field(req.body, 'username');
      try {
        const { sessionToken } = await signIn(knex, limiter, { username, password: field(req.body, 'password'), source: req.ip });
        reply.header('set-cookie', `${COOKIE}=${sessionToken}; Path=/account; HttpOnly; SameSite=Strict${secureCookie ? '; Secure' : ''}`);
        return reply.redirect('/account', 303);
      } catch (err) {
        if (err instanceof RateLimitedError) {
          reply.header('retry-after', String(err.retryAfterSeconds));
          return html(reply, 429, signInPage({ error: `Too many attempts. Try again in ${Math.ceil(err.retryAfterSeconds / 60)} minute(s).`, username }));
        }
        if (err instanceof DomainError) return html(reply, 401, signInPage({ error: 'Wrong username or password, or this profile cannot sign in.', username }));
        throw err;
      }
    });
    app.get('/', hide, async (req, reply) => {
      const user = await sessionUser(knex, cookie(req));
      if (!user) return reply.redirect('/account/sign-in', 303);
      return html(reply, 200, accountPage(user));
    });
    app.post('/sign-out', hide, async (req, reply) => {
      await endSession(knex, cookie(req));
      reply.header('set-cookie', `${COOKIE}=; Path=/account; HttpOnly; SameSite=Strict; Max-Age=0`);
      return reply.redirect('/account/sign-in', 303);
    });

    app.get('/forgot', hide, async (_req, reply) => html(reply, 200, forgotPage()));
    app.post('/forgot', hide, async (req, reply) => {
      const users = await profilesForForgot(knex, limiter, field(req.body, 'who'), req.ip);
      for (const user of users) await sendResetLink(d, user, `forgot:${req.ip}`);
      return html(reply, 200, forgotPage(true));
    });
  };
}

/** The API side: administrators send reset links and read the audit log; programs sign users in. */
export function accountApi(d: NoticeDeps, limiter: RateLimiter) {
  const knex: Knex = d.knex;
  return async function register(app: FastifyInstance): Promise<void> {
    app.post<{ Body: { username?: unknown; password?: unknown } }>('/sign-in', {
      schema: { tags: ['accounts'], summary: 'Check a user\'s username and password (rate limited per account and per source address)', security: [] },
    }, async (req, reply) => {
      try {
        const { user } = await signIn(knex, limiter, { username: req.body?.username, password: req.body?.password, source: req.ip });
        return { userId: user.id, username: user.username, tenantId: user.tenantId };
      } catch (err) {
        if (err instanceof RateLimitedError) reply.header('retry-after', String(err.retryAfterSeconds));
        throw err;
      }
    });

    await app.register(async (authed) => {
      authed.addHook('preHandler', bearerAuth(knex));
      authed.post<{ Params: { id: string } }>('/users/:id/reset-password', {
        schema: { tags: ['users'], params: idParams, summary: 'Email the user a single-use link to choose a new password; administrators never see or set passwords' },
      }, async (req, reply) => {
        const user = await getUser(knex, req.scope, req.params.id);
        await sendResetLink(d, user, req.scope.actor);
        reply.status(202);
        return { sent: true, to: user.email };
      });
      authed.get<{ Querystring: { limit?: number; offset?: number; kind?: string; objectId?: string; actor?: string; since?: string } }>('/audit', {
        schema: {
          tags: ['audit'], summary: 'Who changed what and when, oldest first',
          querystring: {
            type: 'object', additionalProperties: false,
            properties: { limit: pageQuery.limit, offset: pageQuery.offset, kind: { type: 'string', maxLength: 32 }, objectId: { type: 'string', maxLength: 64 }, actor: { type: 'string', maxLength: 100 }, since: { type: 'string', maxLength: 32 } },
          },
        },
      }, async (req) => {
        if (req.query.since && Number.isNaN(Date.parse(req.query.since))) throw new ValidationError([{ field: 'since', reason: 'must be an ISO 8601 time' }]);
        return listAudit(knex, req.scope, req.query);
      });
    });
  };
}
