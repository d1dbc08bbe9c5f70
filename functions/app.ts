import { Hono } from 'hono'
import type { MiddlewareHandler } from 'hono'
import { openDatabase } from '../db/client'
import type { RequestDatabase } from '../db/client'
import { listEventsEndpoint } from './auth/events'
import { listIdentitiesEndpoint, unlinkIdentityEndpoint } from './auth/identities'
import { acceptInvitation } from './auth/invitation-accept'
import { login } from './auth/login'
import { forgotPassword } from './auth/password-forgot'
import { resetPasswordEndpoint } from './auth/password-reset'
import { verifyEmailEndpoint } from './auth/verify-email'
import { resendVerificationEmail } from './auth/verify-email-resend'
import { logout } from './auth/logout'
import { logoutAll } from './auth/logout-all'
import { getMe, patchMe } from './auth/me'
import { changePasswordEndpoint } from './auth/password'
import { refresh } from './auth/refresh'
import { register } from './auth/register'
import { revokeSessionEndpoint } from './auth/session-revoke'
import { listSessions } from './auth/sessions-list'
import type { Bindings } from './config'
import { getConfig, isOutboxReadable } from './config'
import { loadArgon2 } from './core/argon2'
import { consoleSink } from './core/log'
import type { LogSink } from './core/log'
import { devMail } from './dev/mail'
import type { AppEnv } from './http/env'
import { cors, securityHeaders } from './http/browser'
import { notFound, onError } from './http/errors'
import { observe } from './http/observe'
import { getOrganization } from './org/get'
import { createInvitation } from './org/invitations-create'
import { listOrganizationInvitations } from './org/invitations-list'
import { revokeInvitation } from './org/invitations-revoke'
import { removeOrganizationMember } from './org/member-remove'
import { resetMemberTwoFactorEndpoint } from './org/member-two-factor-reset'
import { updateOrganizationMember } from './org/member-update'
import { listOrganizationMembers } from './org/members-list'
import { updateOrganization } from './org/update'
import { oauthCallback } from './oauth/callback'
import { deletePasskeyEndpoint } from './passkeys/delete'
import { listPasskeysEndpoint } from './passkeys/list'
import { passkeyLoginEndpoint, v1PasskeyLogin } from './passkeys/login'
import { passkeyLoginOptions, v1PasskeyLoginOptions } from './passkeys/login-options'
import { passkeyRegistration } from './passkeys/registration'
import { passkeyRegistrationOptions } from './passkeys/registration-options'
import { twoFactorPasskeyOptions, v1TwoFactorPasskeyOptions } from './passkeys/two-factor-options'
import { renamePasskeyEndpoint } from './passkeys/update'
import { health } from './service/health'
import { jwks } from './service/jwks'
import { DOCS_POLICY, docsPage, openApiDocument } from './service/openapi'
import type { Route } from './service/openapi'
import { twoFactorDisable, v1TwoFactorDisable } from './two-factor/disable'
import { twoFactorEnable, v1TwoFactorEnable } from './two-factor/enable'
import { twoFactorRecoveryCodes, v1TwoFactorRecoveryCodes } from './two-factor/recovery-codes'
import { twoFactorSetup, v1TwoFactorSetup } from './two-factor/setup'
import { twoFactorStatusEndpoint, v1TwoFactorStatus } from './two-factor/status'
import { twoFactorVerify } from './two-factor/verify'
import { v1LoginEndpoint } from './v1/login'
import { v1Logout } from './v1/logout'
import { v1Me } from './v1/me'
import { v1People } from './v1/people'
import { v1Refresh } from './v1/refresh'
import { v1TwoFactorVerify } from './v1/two-factor-verify'

/** Every endpoint, once: registered on the app and described in /openapi.json from here. */
export const routes: readonly Route[] = [
  ['post', '/api/v1/auth/register', register],
  ['post', '/api/v1/auth/login', login],
  ['post', '/api/v1/auth/refresh', refresh],
  ['post', '/api/v1/auth/logout', logout],
  ['get', '/api/v1/auth/me', getMe],
  ['patch', '/api/v1/auth/me', patchMe],
  ['post', '/api/v1/auth/password', changePasswordEndpoint],
  ['get', '/api/v1/auth/sessions', listSessions],
  ['delete', '/api/v1/auth/sessions/:id', revokeSessionEndpoint],
  ['post', '/api/v1/auth/logout-all', logoutAll],
  ['get', '/api/v1/auth/events', listEventsEndpoint],
  ['post', '/api/v1/auth/invitations/accept', acceptInvitation],
  ['post', '/api/v1/auth/verify-email', verifyEmailEndpoint],
  ['post', '/api/v1/auth/verify-email/resend', resendVerificationEmail],
  ['post', '/api/v1/auth/password/forgot', forgotPassword],
  ['post', '/api/v1/auth/password/reset', resetPasswordEndpoint],

  ['get', '/api/v1/org', getOrganization],
  ['patch', '/api/v1/org', updateOrganization],
  ['get', '/api/v1/org/members', listOrganizationMembers],
  ['patch', '/api/v1/org/members/:user_id', updateOrganizationMember],
  ['delete', '/api/v1/org/members/:user_id', removeOrganizationMember],
  ['post', '/api/v1/org/members/:user_id/2fa/reset', resetMemberTwoFactorEndpoint],
  ['post', '/api/v1/org/invitations', createInvitation],
  ['get', '/api/v1/org/invitations', listOrganizationInvitations],
  ['delete', '/api/v1/org/invitations/:id', revokeInvitation],
  ['post', '/api/v1/auth/oauth/callback', oauthCallback],
  ['get', '/api/v1/auth/identities', listIdentitiesEndpoint],
  ['delete', '/api/v1/auth/identities/:provider', unlinkIdentityEndpoint],

  ['get', '/api/v1/auth/2fa/status', twoFactorStatusEndpoint],
  ['post', '/api/v1/auth/2fa/setup', twoFactorSetup],
  ['post', '/api/v1/auth/2fa/enable', twoFactorEnable],
  ['post', '/api/v1/auth/2fa/verify', twoFactorVerify],
  ['post', '/api/v1/auth/2fa/recovery-codes', twoFactorRecoveryCodes],
  ['post', '/api/v1/auth/2fa/disable', twoFactorDisable],
  ['post', '/api/v1/auth/2fa/passkey-options', twoFactorPasskeyOptions],

  ['post', '/api/v1/auth/passkeys/registration/options', passkeyRegistrationOptions],
  ['post', '/api/v1/auth/passkeys/registration', passkeyRegistration],
  ['get', '/api/v1/auth/passkeys', listPasskeysEndpoint],
  ['patch', '/api/v1/auth/passkeys/:id', renamePasskeyEndpoint],
  ['delete', '/api/v1/auth/passkeys/:id', deletePasskeyEndpoint],
  ['post', '/api/v1/auth/passkeys/login/options', passkeyLoginOptions],
  ['post', '/api/v1/auth/passkeys/login', passkeyLoginEndpoint],

  ['post', '/v1/login', v1LoginEndpoint],
  ['post', '/v1/refresh', v1Refresh],
  ['post', '/v1/logout', v1Logout],
  ['get', '/v1/me', v1Me],
  ['get', '/v1/people', v1People],
  ['get', '/v1/2fa/status', v1TwoFactorStatus],
  ['post', '/v1/2fa/setup', v1TwoFactorSetup],
  ['post', '/v1/2fa/enable', v1TwoFactorEnable],
  ['post', '/v1/2fa/verify', v1TwoFactorVerify],
  ['post', '/v1/2fa/recovery-codes', v1TwoFactorRecoveryCodes],
  ['post', '/v1/2fa/disable', v1TwoFactorDisable],
  ['post', '/v1/2fa/passkey-options', v1TwoFactorPasskeyOptions],
  ['post', '/v1/passkeys/login/options', v1PasskeyLoginOptions],
  ['post', '/v1/passkeys/login', v1PasskeyLogin],

  ['get', '/health', health],
  ['get', '/.well-known/jwks.json', jwks],
]

export interface AppDependencies {
  /** How a request reaches the database; tests point it at their own. */
  openDatabase?: (env: Bindings) => RequestDatabase
  now?: () => Date
  fetch?: typeof fetch
  /** Where log lines go (default: the console, which Workers Logs collects). */
  log?: LogSink
}

/** How the Worker reaches its database for one request (or one service-binding call). */
export const openRequestDatabase = (env: Bindings) => openDatabase({ url: env.DATABASE_URL, localRelay: env.DB_WS_PROXY })

export function createApp(deps: AppDependencies = {}) {
  const open = deps.openDatabase ?? openRequestDatabase
  const app = new Hono<AppEnv>()
  // One function per app, not per request: per-isolate caches (OAuth providers' JWKS) key on it.
  const fetcher: typeof fetch = deps.fetch ?? ((input, init) => fetch(input, init))

  app.use(observe(deps.log ?? consoleSink))
  app.use(securityHeaders)
  app.use(async (c, next) => {
    c.set('config', await getConfig(c.env))
    await next()
  })
  // Preflights are answered before the database is opened.
  app.use(cors(routes))
  app.use(async (c, next) => {
    c.set('now', deps.now ?? (() => new Date()))
    c.set('argon2', loadArgon2)
    c.set('fetch', fetcher)
    // CF-Connecting-IP is set by Cloudflare's edge and cannot be forged by the client.
    c.set('client', { ip: c.req.header('CF-Connecting-IP') ?? null, userAgent: c.req.header('User-Agent')?.slice(0, 512) ?? null })
    // Over HTTP: nothing to open or close per request (db/client.ts).
    c.set('db', open(c.env))
    // Work after the response (a mail sent through the provider) is kept alive with waitUntil.
    const pending: Promise<unknown>[] = []
    c.set('afterResponse', (promise) => void pending.push(promise))
    try {
      await next()
    } catch (error) {
      // Hono passes only Error instances to onError, and the Neon driver rejects with the
      // WebSocket's ErrorEvent when it cannot connect: wrap, so onError can answer 503.
      throw error instanceof Error ? error : new Error('non-Error rejection', { cause: error })
    } finally {
      if (pending.length) {
        const settled = Promise.allSettled(pending)
        let ctx: { waitUntil(promise: Promise<unknown>): void } | undefined
        try {
          ctx = c.executionCtx
        } catch {}
        if (ctx) ctx.waitUntil(settled)
        else await settled
      }
    }
  })

  for (const [method, path, endpoint] of routes) app.on(method.toUpperCase(), [path], ...endpoint.handlers)

  // Development tools: answered as an unknown route anywhere else, and absent from /openapi.json.
  // The outbox is also read in a preview, whose reviewers need the mails it keeps. The
  // environment alone is not enough: it can be left on a reachable deployment, and /dev/mail
  // holds every reset and invitation link (a Worker cannot see the peer address, so
  // "loopback only" is not a check it can make): DEV_MAIL=on too (config.devMail).
  const outboxReadable: MiddlewareHandler<AppEnv> = async (c, next) => {
    if (!isOutboxReadable(c.var.config.environment) || !c.var.config.devMail) return notFound(c)
    await next()
  }
  app.get('/dev/mail', outboxReadable, ...devMail.handlers)

  let document: ReturnType<typeof openApiDocument> | undefined
  // `servers` names the origin the document was fetched from: the deployment describes itself.
  app.get('/openapi.json', (c) => c.json({ ...(document ??= openApiDocument(routes)), servers: [{ url: new URL(c.req.url).origin }] }))
  app.get('/docs', (c) => c.html(docsPage, 200, { 'Content-Security-Policy': DOCS_POLICY }))

  app.onError(onError)
  app.notFound(notFound)
  return app
}
