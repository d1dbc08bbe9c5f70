import * as z from 'zod/mini'
import type { LoginOutcome } from '../core/login'
import { login } from '../auth/login'
import { logout } from '../auth/logout'
import { refresh } from '../auth/refresh'
import type { Endpoint, EndpointSpec, Operation, Route } from '../http/endpoint'
import { twoFactorChallenge } from '../http/schemas'
import { passkeyLoginEndpoint } from '../passkeys/login'
import { passkeyLoginOptions } from '../passkeys/login-options'
import { twoFactorPasskeyOptions } from '../passkeys/two-factor-options'
import { twoFactorDisable } from '../two-factor/disable'
import { twoFactorEnable } from '../two-factor/enable'
import { twoFactorRecoveryCodes } from '../two-factor/recovery-codes'
import { twoFactorSetup } from '../two-factor/setup'
import { twoFactorStatusEndpoint } from '../two-factor/status'
import { twoFactorVerify } from '../two-factor/verify'
import { ok, v1Login } from './envelope'
import { v1Me } from './me'
import { v1People } from './people'
import { v1LoginResult } from './schemas'

type Doc = Partial<Pick<EndpointSpec<undefined>, 'summary' | 'description' | 'responses'>>

/**
 * An auth API endpoint in the /v1 dialect: the same guards and the same work, its result
 * shaped by `view` and put in the envelope. `doc` replaces what the dialect documents
 * differently (by default the summary gains "(the /v1 dialect)").
 */
function wrap<T>(operation: Operation<T>, view: (result: T) => unknown = (result) => result, doc: Doc = {}): Endpoint {
  const spec = { ...operation.spec, summary: `${operation.spec.summary} (the /v1 dialect)`, ...doc }
  return { spec, guards: operation.guards, handlers: [...operation.guards, async (c) => ok(c, view(await operation.run(c)))] }
}

const signedIn = (outcome: LoginOutcome) =>
  outcome.kind === 'two_factor' ? { requires_2fa: true, session_token: outcome.sessionToken } : v1Login(outcome.account.user, outcome.tokens)

const tokenOrChallenge = { description: 'Token, or a 2FA challenge', schema: z.union([v1LoginResult, twoFactorChallenge]) }

/** The /v1 dialect's routes, relative to /v1. */
export const v1Routes: readonly Route[] = [
  [
    'post',
    '/login',
    wrap(login, signedIn, { summary: 'Log in (the /v1 dialect)', description: undefined, responses: { ...login.spec.responses, 200: tokenOrChallenge } }),
  ],
  [
    'post',
    '/refresh',
    wrap(refresh, ({ principal: p, ...tokens }) => v1Login({ id: p.userId, fullName: p.fullName, email: p.email }, tokens), {
      summary: 'Exchange a refresh token (the /v1 dialect)',
      description: undefined,
      responses: { ...refresh.spec.responses, 200: { description: 'A new token pair', schema: v1LoginResult } },
    }),
  ],
  [
    'post',
    '/logout',
    wrap(logout, () => ({ message: 'Logged out.' }), {
      description: undefined,
      responses: { 200: { description: 'Logged out', schema: z.object({ message: z.string() }) } },
    }),
  ],
  ['get', '/me', v1Me],
  ['get', '/people', v1People],
  ['get', '/2fa/status', wrap(twoFactorStatusEndpoint)],
  ['post', '/2fa/setup', wrap(twoFactorSetup)],
  ['post', '/2fa/enable', wrap(twoFactorEnable)],
  [
    'post',
    '/2fa/verify',
    // Answers exactly what a successful /v1/login does.
    wrap(twoFactorVerify, ({ account, tokens }) => v1Login(account.user, tokens), {
      summary: 'Complete a two-step login (the /v1 dialect)',
      description: undefined,
      responses: { ...twoFactorVerify.spec.responses, 200: { description: 'Signed in', schema: v1LoginResult } },
    }),
  ],
  ['post', '/2fa/recovery-codes', wrap(twoFactorRecoveryCodes)],
  ['post', '/2fa/disable', wrap(twoFactorDisable)],
  ['post', '/2fa/passkey-options', wrap(twoFactorPasskeyOptions)],
  ['post', '/passkeys/login/options', wrap(passkeyLoginOptions)],
  [
    'post',
    '/passkeys/login',
    wrap(passkeyLoginEndpoint, signedIn, {
      responses: { 200: tokenOrChallenge, 429: { description: 'Too many attempts from this IP' } },
    }),
  ],
]
