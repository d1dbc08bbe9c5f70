import type { MiddlewareHandler } from 'hono'
import { createVerifier } from './index.js'
import type { Fetcher, GatehouseClaims, VerifierOptions, VerifyResult } from './index.js'

export type { GatehouseClaims, VerifyFailure, VerifyResult } from './index.js'

/** Gatehouse's `WorkerEntrypoint`, as a service binding to it exposes it. */
export interface GatehouseService {
  /** Signature, claims and the live session (revocation, deactivation, role) in one call. */
  verify(token: string, scope?: string): Promise<VerifyResult>
}

/** The two error dialects of Gatehouse: RFC 9457 problem details, or the /v1 envelope. */
export type Dialect = 'problem' | 'v1'

// biome-ignore lint/suspicious/noExplicitAny: a downstream's Bindings are its own; `any` by default fits every Hono app
export interface GatehouseMiddlewareOptions<Bindings extends object = any> extends Omit<VerifierOptions, 'jwks'> {
  /** Local verification: the JWKS URL or a service binding, or a function of `c.env` that returns one. */
  jwks?: VerifierOptions['jwks'] | ((env: Bindings) => VerifierOptions['jwks'])
  /** Live verification: a service binding to Gatehouse's `GatehouseService`, or a function of `c.env` that returns it. */
  rpc?: GatehouseService | ((env: Bindings) => GatehouseService)
  /** The scope the route needs (403 without it). */
  scope?: string
  /** The error bodies to answer with (default `problem`). */
  dialect?: Dialect
}

export interface GatehouseVariables {
  gatehouse: GatehouseClaims
}

const BEARER = /^Bearer ([A-Za-z0-9_.~+/=-]+)$/i

const TITLES: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 503: 'Service Unavailable' }

// What Gatehouse answers when its database is down; a downstream says the same when the RPC fails.
const UNAVAILABLE = { code: 'database_unavailable', status: 503, detail: 'The service is temporarily unavailable.' }

/** The response Gatehouse itself would give for this failure, in the chosen dialect. */
export function errorResponse(failure: { code: string; status: number; detail: string }, dialect: Dialect = 'problem'): Response {
  const headers = { 'Cache-Control': 'no-store' }
  if (dialect === 'v1') {
    // The /v1 dialect's clients match on these exact messages.
    const message = failure.status === 401 ? 'Unauthenticated.' : failure.code === 'insufficient_scope' ? 'This action is unauthorized.' : failure.detail
    return Response.json({ success: false, message }, { status: failure.status, headers })
  }
  const problem = { type: `/docs#error-${failure.code}`, title: TITLES[failure.status], status: failure.status, detail: failure.detail, code: failure.code }
  return new Response(JSON.stringify(problem), { status: failure.status, headers: { ...headers, 'Content-Type': 'application/problem+json' } })
}

/**
 * Hono middleware: checks `Authorization: Bearer <token>` and puts the claims on `c.var.gatehouse`,
 * or answers 401/403 with Gatehouse's own error bodies.
 *
 * @example
 * const app = new Hono<{ Bindings: Env; Variables: GatehouseVariables }>()
 * app.use('/api/*', gatehouse({ issuer: 'https://auth.example.com', jwks: new URL('https://auth.example.com/.well-known/jwks.json') }))
 * app.get('/api/hello', (c) => c.json({ user: c.var.gatehouse.sub }))
 */
// biome-ignore lint/suspicious/noExplicitAny: as above
export function gatehouse<Bindings extends object = any>(
  options: GatehouseMiddlewareOptions<Bindings>,
): MiddlewareHandler<{ Bindings: Bindings; Variables: GatehouseVariables }> {
  const { jwks, rpc, scope, dialect = 'problem', ...verifierOptions } = options
  if (!jwks === !rpc) throw new Error('gatehouse(): pass exactly one of `jwks` (local verification) or `rpc` (a service binding)')
  // A service binding may itself be callable: what has a `fetch` method is a Fetcher, not a function of env.
  const perEnv = typeof jwks === 'function' && typeof (jwks as Partial<Fetcher>).fetch !== 'function'
  const fixed = jwks && !perEnv ? createVerifier({ ...verifierOptions, jwks: jwks as VerifierOptions['jwks'] }) : undefined
  return async (c, next) => {
    const header = c.req.header('Authorization')
    if (!header) return errorResponse({ code: 'token_missing', status: 401, detail: 'An Authorization: Bearer token is required.' }, dialect)
    const token = BEARER.exec(header)?.[1]
    if (!token) return errorResponse({ code: 'token_invalid', status: 401, detail: 'The Authorization header must be "Bearer <token>".' }, dialect)
    let result: VerifyResult
    if (rpc) {
      const service =
        typeof (rpc as Partial<GatehouseService>).verify === 'function' ? (rpc as GatehouseService) : (rpc as (env: Bindings) => GatehouseService)(c.env)
      try {
        result = await service.verify(token, scope)
      } catch (error) {
        // Gatehouse could not decide (its database unreachable, the binding broken): neither
        // let the request through nor answer a 500.
        console.error('gatehouse: verify over the service binding failed', error instanceof Error ? error.message : error)
        return errorResponse(UNAVAILABLE, dialect)
      }
    } else {
      // The verifier is cheap to create: the keys it needs are cached per isolate, not per verifier.
      const verifier = fixed ?? createVerifier({ ...verifierOptions, jwks: (jwks as (env: Bindings) => VerifierOptions['jwks'])(c.env) })
      result = await verifier.verify(token, { scope })
    }
    if (!result.ok) return errorResponse(result, dialect)
    c.set('gatehouse', result.claims)
    await next()
  }
}

export type { Fetcher }
