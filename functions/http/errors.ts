import type { Context, ErrorHandler, NotFoundHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { sqlState } from '../../db/errors'
import { AuthError } from '../core/errors'
import { errorFields } from '../core/log'
import type { AppEnv } from './env'

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
}

/** The `/v1` dialect: clients written against its docs match on these exact messages. */
function v1Message(error: AuthError): string {
  if (error.status === 401) return 'Unauthenticated.'
  if (error.code === 'insufficient_scope') return 'This action is unauthorized.'
  // Laravel's throttle message, which the dialect's clients know.
  if (error.status === 429) return 'Too Many Attempts.'
  return error.detail
}

export const isV1 = (c: Context) => c.req.path === '/v1' || c.req.path.startsWith('/v1/')

/**
 * The one place an AuthError becomes a response, in the dialect of the path. A 500 also
 * carries `request_id`, so the user can quote the line of the log that says what failed.
 */
export function errorResponse(c: Context<AppEnv>, error: AuthError): Response {
  c.set('failure', { ...c.var.failure, code: error.code })
  const requestId = error.status === 500 ? c.var.requestId : undefined
  const headers: Record<string, string> = { 'Cache-Control': 'no-store' }
  if (error.extra.retryAfterSeconds !== undefined) headers['Retry-After'] = String(error.extra.retryAfterSeconds)
  if (isV1(c)) {
    const body: Record<string, unknown> = { success: false, message: v1Message(error) }
    if (error.extra.errors) {
      // No prototype: a field named `__proto__` or `constructor` is a key like any other.
      const errors: Record<string, string[]> = Object.create(null)
      for (const { field, message } of error.extra.errors) (errors[field] ??= []).push(message)
      body.errors = errors
    }
    if (requestId) body.request_id = requestId
    return c.json(body, error.status as 400, headers)
  }
  const problem: Record<string, unknown> = {
    type: `/docs#error-${error.code}`,
    title: TITLES[error.status] ?? 'Error',
    status: error.status,
    detail: error.detail,
    code: error.code,
  }
  if (error.extra.errors) problem.errors = error.extra.errors
  if (requestId) problem.request_id = requestId
  return new Response(JSON.stringify(problem), {
    status: error.status,
    headers: { ...headers, 'Content-Type': 'application/problem+json' },
  })
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
 * Known errors become their status; anything else is answered with nothing inside. What
 * went wrong goes on the request's log line (http/observe.ts), never onto the wire.
 */
export const onError: ErrorHandler<AppEnv> = (error, c) => {
  if (error instanceof AuthError) {
    if (error.extra.internal !== undefined) c.set('failure', { code: error.code, internal: internalDetail(error.extra.internal) })
    return errorResponse(c, error)
  }
  if (error instanceof HTTPException && error.status < 500) {
    return errorResponse(c, new AuthError('malformed_json', error.status, error.message))
  }
  c.set('failure', { code: 'internal_error', error: errorFields(error) })
  if (isDatabaseUnavailable(error))
    return errorResponse(c, new AuthError('database_unavailable', 503, 'The service is temporarily unavailable.'))
  return errorResponse(c, new AuthError('internal_error', 500, 'An unexpected error occurred.'))
}

// `internal` is a string, a plain object of statuses and reasons (OAuth, mail), or a
// library's error (jose): objects go to the log as fields, errors as their name and message
// (no stack: an expected failure, such as a forged token, is not a bug to trace).
function internalDetail(internal: unknown) {
  if (!(internal instanceof Error)) return internal
  const { name, message } = errorFields(internal)
  return { name, message }
}

export const notFound: NotFoundHandler<AppEnv> = (c) =>
  errorResponse(c, new AuthError('not_found', 404, `No route for ${c.req.method} ${c.req.path}.`))
