import type { Context, ErrorHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { sqlState } from '../../db/errors'
import { AuthError } from '../core/errors'
import type { ErrorCode } from '../core/errors'
import { errorFields } from '../core/log'
import type { AppEnv } from './env'
import { STATUSES } from './statuses'

/** What every dialect's error response carries besides its body. */
export interface FailureContext {
  status: number
  headers: Record<string, string>
  /** On a 500: the request's id, so the user can quote the line of the log that says what failed. */
  requestId?: string
}

/** How a dialect writes a failure: the one thing in which dialects' errors differ. */
export type FailureBody = (c: Context<AppEnv>, error: AuthError, context: FailureContext) => Response

/** The one place a failure gets its status: the endpoint's own, or the table's. */
export const statusOf = (c: Context<AppEnv>, code: ErrorCode) => c.var.statuses?.[code] ?? STATUSES[code]

function respond(c: Context<AppEnv>, error: AuthError, body: FailureBody, status = statusOf(c, error.code)): Response {
  c.set('failure', { ...c.var.failure, code: error.code })
  const headers: Record<string, string> = { 'Cache-Control': 'no-store' }
  if (error.extra.retryAfterSeconds !== undefined) headers['Retry-After'] = String(error.extra.retryAfterSeconds)
  return body(c, error, { status, headers, requestId: status === 500 ? c.var.requestId : undefined })
}

// Class 08 connection exception, 53 insufficient resources, 57P0x operator intervention.
const UNAVAILABLE = /^(08|53|57P0)/

/** Errors that mean "the database could not be reached", as opposed to a bad query. */
function isDatabaseUnavailable(error: unknown): boolean {
  const state = sqlState(error)
  if (state) return UNAVAILABLE.test(state)
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const message = String((e as { message?: unknown }).message ?? '')
    if (/connect|ECONNREFUSED|WebSocket|terminated|timeout|closed/i.test(message)) return true
    // An ErrorEvent from the WebSocket the Neon driver opens.
    if ((e as { type?: unknown }).type === 'error') return true
  }
  return false
}

/**
 * A dialect's one `onError`: known errors become their status, in the dialect's body;
 * anything else is answered with nothing inside. What went wrong goes on the request's log
 * line (http/observe.ts), never onto the wire.
 */
export function errorHandler(body: FailureBody): ErrorHandler<AppEnv> {
  return (error, c) => {
    if (error instanceof AuthError) {
      if (error.extra.internal !== undefined) c.set('failure', { code: error.code, internal: internalDetail(error.extra.internal) })
      return respond(c, error, body)
    }
    if (error instanceof HTTPException && error.status < 500) {
      return respond(c, new AuthError('malformed_json', error.message), body, error.status)
    }
    c.set('failure', { code: 'internal_error', error: errorFields(error) })
    if (isDatabaseUnavailable(error))
      return respond(c, new AuthError('database_unavailable', 'The service is temporarily unavailable.'), body)
    return respond(c, new AuthError('internal_error', 'An unexpected error occurred.'), body)
  }
}

// `internal` is a string, a plain object of statuses and reasons (OAuth, mail), or a
// library's error (jose): objects go to the log as fields, errors as their name and message
// (no stack: an expected failure, such as a forged token, is not a bug to trace).
function internalDetail(internal: unknown) {
  if (!(internal instanceof Error)) return internal
  const { name, message } = errorFields(internal)
  return { name, message }
}

/** A request no route of the dialect answers. */
export const noRoute = (c: Context) => new AuthError('not_found', `No route for ${c.req.method} ${c.req.path}.`)
