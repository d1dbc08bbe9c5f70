import type { BatchResponse } from 'drizzle-orm/batch'
import type { Context, MiddlewareHandler } from 'hono'
import type { BlankInput } from 'hono/types'
import type * as z from 'zod/mini'
import type { RequestDatabase } from '../../db/client'
import type { ErrorCode } from '../core/errors'
import type { Caller, CallerReads } from '../core/sessions'
import { requireAuth } from './auth'
import { jsonBody } from './body'
import type { AppEnv } from './env'
import { NO_STORE } from './respond'

export interface EndpointSpec<B extends z.ZodMiniType | undefined, R extends CallerReads = CallerReads> {
  summary: string
  description?: string
  /** `false`: public. `true` (default): a valid bearer token. A string: a token with that scope. */
  auth?: boolean | string
  /**
   * An authenticated endpoint's reads about its caller: they run in the same round trip as
   * the session check, and their results are the handler's second argument.
   */
  reads?: (db: RequestDatabase, caller: Caller, c: Context<AppEnv>) => R
  /**
   * The `reads` see the validated body (`bodyOf(c)`, undefined when it is refused): it is
   * read before the session check, and a refusal is still answered after it, as without.
   * For reads that count an attempt only for a request the endpoint will act on.
   */
  readsBody?: boolean
  body?: B
  /** The body may be left out (no Content-Type): it reads as `{}`. For bodies added to endpoints that had none. `'when-declared'`: see `jsonBody`. */
  bodyOptional?: boolean | 'when-declared'
  /** The query parameters the handler reads, for the OpenAPI document. */
  query?: Record<string, { description: string; schema: { type: 'integer' | 'string'; minimum?: number; maximum?: number; default?: number } }>
  responses: Record<number, { description: string; schema?: z.ZodMiniType }>
  /** Where this endpoint answers a failure with another status than http/statuses.ts's. */
  statuses?: Partial<Record<ErrorCode, number>>
}

type Input<B> = B extends z.ZodMiniType ? { in: { json: z.input<B> }; out: { json: z.output<B> } } : BlankInput
type HandlerContext<B> = Context<AppEnv, string, Input<B>>

export interface Endpoint {
  spec: EndpointSpec<z.ZodMiniType | undefined, CallerReads>
  /** Authentication and body validation, as the spec says: what every dialect puts in front. */
  guards: MiddlewareHandler<AppEnv>[]
  /** The guards, then the auth API's answer. */
  handlers: MiddlewareHandler<AppEnv>[]
}

/** An endpoint whose result another dialect can shape its own way (`v1/routes.ts`). */
export interface Operation<T> extends Endpoint {
  /** The endpoint's work, after the guards: its result before a dialect shapes it. */
  run: (c: Context<AppEnv>) => Promise<T>
}

/** A route of a dialect's table; the path is relative to where the dialect is mounted. */
export type Route = readonly [method: 'get' | 'post' | 'patch' | 'delete' | 'put', path: string, endpoint: Endpoint]

function guards(spec: EndpointSpec<z.ZodMiniType | undefined, CallerReads>): MiddlewareHandler<AppEnv>[] {
  const handlers: MiddlewareHandler<AppEnv>[] = []
  const { statuses } = spec
  if (statuses)
    handlers.push(async (c, next) => {
      c.set('statuses', statuses)
      await next()
    })
  const auth = spec.auth ?? true
  const body = spec.body && (jsonBody(spec.body, { optional: spec.bodyOptional }) as unknown as MiddlewareHandler<AppEnv>)
  // `readsBody`: the session check validates the body itself, before its reads.
  const early = auth && spec.readsBody ? body : undefined
  if (auth) handlers.push(requireAuth(typeof auth === 'string' ? auth : undefined, spec.reads, early))
  if (body && !early) handlers.push(body)
  return handlers
}

/**
 * One endpoint: its description (the OpenAPI document is generated from it) and its
 * handler, with authentication and body validation put in front as the spec says.
 *
 * @example
 * export const me = endpoint({ summary: 'The caller', responses: { 200: { description: 'Profile', schema: profile } } },
 *   async (c) => c.json(await profileOf(c.var.db, c.var.auth.principal.userId)))
 */
export function endpoint<B extends z.ZodMiniType | undefined = undefined, R extends CallerReads = CallerReads>(
  spec: EndpointSpec<B, R>,
  handler: (c: HandlerContext<B>, reads: BatchResponse<R>) => Response | Promise<Response>,
): Endpoint {
  const before = guards(spec as Endpoint['spec'])
  const withReads = (c: HandlerContext<B>) => handler(c, c.get('reads') as BatchResponse<R>)
  return { spec: spec as Endpoint['spec'], guards: before, handlers: [...before, withReads as unknown as MiddlewareHandler<AppEnv>] }
}

const asJson = (c: Context<AppEnv>, result: unknown) => c.json(result as object, 200, NO_STORE)

/**
 * An endpoint that the /v1 dialect wraps too: `run` does the work and returns its result,
 * `respond` makes it the auth API's response (by default the result as JSON, 200, not
 * stored). The /v1 dialect puts the same guards in front of `run` and shapes the result
 * its own way, so the handler knows nothing of the dialects around it.
 *
 * @example
 * export const status = operation({ summary: '2FA status', auth: 'profile:read', responses },
 *   async (c) => ({ enabled: await isOn(services(c), c.var.auth.principal) }))
 */
export function operation<T, B extends z.ZodMiniType | undefined = undefined, R extends CallerReads = CallerReads>(
  spec: EndpointSpec<B, R>,
  run: (c: HandlerContext<B>, reads: BatchResponse<R>) => Promise<T>,
  respond: (c: HandlerContext<B>, result: T) => Response = asJson,
): Operation<T> {
  const before = guards(spec as Endpoint['spec'])
  const result = (c: HandlerContext<B>) => run(c, c.get('reads') as BatchResponse<R>)
  const answer = async (c: HandlerContext<B>) => respond(c, await result(c))
  return {
    spec: spec as Endpoint['spec'],
    guards: before,
    handlers: [...before, answer as unknown as MiddlewareHandler<AppEnv>],
    run: result as unknown as Operation<T>['run'],
  }
}
