import type { MiddlewareHandler } from 'hono'
import type * as z from 'zod/mini'
import { AuthError, validationFailed } from '../core/errors'
import type { FieldError } from '../core/errors'
import type { AppEnv } from './env'

/** Bodies are small JSON objects; anything bigger is refused before it is parsed. */
export const MAX_BODY_BYTES = 16 * 1024

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i

/**
 * Reads, bounds, parses and validates a JSON body; handlers get it from `c.req.valid('json')`.
 * Every failure is an AuthError with the contract's status: 413, 400 (content type,
 * malformed JSON) or 422 (not an object, wrong fields, null bytes, lone surrogates).
 */
export function jsonBody<S extends z.ZodMiniType>(
  schema: S,
  options: { optional?: boolean } = {},
): MiddlewareHandler<AppEnv, string, { in: { json: z.input<S> }; out: { json: z.output<S> } }> {
  return async (c, next) => {
    const declared = Number(c.req.header('Content-Length') ?? 0)
    if (declared > MAX_BODY_BYTES) throw tooLarge()
    const mediaType = (c.req.header('Content-Type') ?? '').split(';')[0]!.trim()
    // Content-Length can lie or be absent (chunked): measure what actually arrived.
    const bytes = await c.req.arrayBuffer()
    if (bytes.byteLength > MAX_BODY_BYTES) throw tooLarge()
    // An endpoint that took no body before keeps working without one (with or without a
    // Content-Type, as clients sent it): an empty body reads as `{}`.
    const absent = options.optional && bytes.byteLength === 0
    if (!absent && !JSON_MEDIA_TYPE.test(mediaType))
      throw new AuthError('unsupported_media_type', 400, 'The request body must be JSON (Content-Type: application/json).')
    let value: unknown = {}
    try {
      if (!absent) value = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes))
    } catch {
      throw new AuthError('malformed_json', 400, 'The request body is not valid JSON.')
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw validationFailed([{ field: '', message: 'must be a JSON object' }])
    const unsafe = unsafeStrings(value)
    if (unsafe.length) throw validationFailed(unsafe)
    const result = schema.safeParse(value)
    if (!result.success) throw validationFailed(fieldErrors(result.error, value))
    c.req.addValidatedData('json', result.data as object)
    await next()
  }
}

const tooLarge = () => new AuthError('payload_too_large', 413, `The request body exceeds ${MAX_BODY_BYTES} bytes.`)

/**
 * Null bytes end C strings (and Postgres refuses them in text); lone surrogates cannot be
 * encoded as UTF-8. Both are refused everywhere, before any schema sees them.
 */
function unsafeStrings(value: unknown, path: string[] = []): FieldError[] {
  if (typeof value === 'string') {
    if (value.includes('\0')) return [{ field: path.join('.'), message: 'must not contain null bytes' }]
    if (!value.isWellFormed()) return [{ field: path.join('.'), message: 'must be valid Unicode' }]
    return []
  }
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).flatMap(([key, v]) => unsafeStrings(v, [...path, key]))
  return []
}

function fieldErrors(error: z.core.$ZodError, input: object): FieldError[] {
  return error.issues.map((issue) => {
    const value = issue.path.reduce<unknown>((v, key) => (v as Record<PropertyKey, unknown> | undefined)?.[key], input)
    return { field: issue.path.join('.'), message: describe(issue, value) }
  })
}

// zod/mini ships without locale messages (to keep them out of the bundle), so the few
// kinds of issue our schemas can raise are worded here.
function describe(issue: z.core.$ZodIssue, value: unknown): string {
  if (issue.message && issue.message !== 'Invalid input') return issue.message
  switch (issue.code) {
    case 'invalid_type':
      return value === undefined ? 'is required' : `must be a ${issue.expected}`
    case 'too_small':
      return `must be at least ${issue.minimum} characters`
    case 'too_big':
      return `must be at most ${issue.maximum} characters`
    case 'invalid_format':
      return issue.format === 'email' ? 'must be an email address' : `must be a valid ${issue.format}`
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`
    case 'unrecognized_keys':
      return `unknown field(s): ${issue.keys.join(', ')}`
    default:
      return 'is invalid'
  }
}
