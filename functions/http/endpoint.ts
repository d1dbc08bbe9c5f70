import type { BatchResponse } from 'drizzle-orm/batch'
import type { Context, MiddlewareHandler } from 'hono'
import type { BlankInput } from 'hono/types'
import type * as z from 'zod/mini'
import type { RequestDatabase } from '../../db/client'
import type { Caller, CallerReads } from '../core/sessions'
import { requireAuth } from './auth'
import { jsonBody } from './body'
import type { AppEnv } from './env'

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
  body?: B
  /** The body may be left out (no Content-Type): it reads as `{}`. For bodies added to endpoints that had none. */
  bodyOptional?: boolean
  /** The query parameters the handler reads, for the OpenAPI document. */
  query?: Record<string, { description: string; schema: { type: 'integer' | 'string'; minimum?: number; maximum?: number; default?: number } }>
  responses: Record<number, { description: string; schema?: z.ZodMiniType }>
}

type Input<B> = B extends z.ZodMiniType ? { in: { json: z.input<B> }; out: { json: z.output<B> } } : BlankInput

export interface Endpoint {
  spec: EndpointSpec<z.ZodMiniType | undefined, CallerReads>
  handlers: MiddlewareHandler<AppEnv>[]
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
  handler: (c: Context<AppEnv, string, Input<B>>, reads: BatchResponse<R>) => Response | Promise<Response>,
): Endpoint {
  const handlers: MiddlewareHandler<AppEnv>[] = []
  const auth = spec.auth ?? true
  if (auth) handlers.push(requireAuth(typeof auth === 'string' ? auth : undefined, spec.reads))
  if (spec.body) handlers.push(jsonBody(spec.body, { optional: spec.bodyOptional }) as unknown as MiddlewareHandler<AppEnv>)
  const withReads = (c: Context<AppEnv, string, Input<B>>) => handler(c, c.get('reads') as BatchResponse<R>)
  handlers.push(withReads as unknown as MiddlewareHandler<AppEnv>)
  return { spec: spec as Endpoint['spec'], handlers }
}
