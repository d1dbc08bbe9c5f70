import type { Context, MiddlewareHandler } from 'hono'
import type * as z from 'zod/mini'
import { AuthError, validationFailed } from '../core/errors'
import type { FieldError } from '../core/errors'
import { fieldErrors } from './field-errors'
import type { AppEnv } from './env'

/** Bodies are small JSON objects; anything bigger is refused before it is parsed. */
export const MAX_BODY_BYTES = 16 * 1024

/** No schema of ours nests more than a few levels; deeper input is refused before any walk recurses. */
export const MAX_BODY_DEPTH = 32

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i

/**
 * Reads, bounds, parses and validates a JSON body; handlers get it from `c.req.valid('json')`.
 * Every failure is an AuthError with the contract's status: 413, 400 (content type,
 * malformed JSON) or 422 (not an object, wrong fields, null bytes, lone surrogates).
 */
export function jsonBody<S extends z.ZodMiniType>(
  schema: S,
  options: { optional?: boolean | 'when-declared' } = {},
): MiddlewareHandler<AppEnv, string, { in: { json: z.input<S> }; out: { json: z.output<S> } }> {
  return async (c, next) => {
    const declared = Number(c.req.header('Content-Length') ?? 0)
    // 'when-declared': a request declaring no body (no Content-Type, no length) reads as `{}`, unread; any other as usual.
    const undeclared = options.optional === 'when-declared' && !c.req.header('Content-Type') && !(declared > 0)
    const optional = options.optional === true
    if (declared > MAX_BODY_BYTES) throw tooLarge()
    const mediaType = (c.req.header('Content-Type') ?? '').split(';')[0]!.trim()
    const unsupported = () =>
      new AuthError('unsupported_media_type', 'The request body must be JSON (Content-Type: application/json).')
    const json = JSON_MEDIA_TYPE.test(mediaType)
    if (!json && !optional && !undeclared) throw unsupported()
    // Content-Length can lie or be absent (chunked): what actually arrives is read bounded.
    const bytes = undeclared ? new Uint8Array() : await readBounded(c.req.raw.body, MAX_BODY_BYTES)
    // An endpoint that took no body before keeps working without one (with or without a
    // Content-Type, as clients sent it): an empty body reads as `{}`.
    const absent = (optional || undeclared) && bytes.byteLength === 0
    if (!absent && !json) throw unsupported()
    let value: unknown = {}
    try {
      if (!absent) value = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes))
    } catch {
      throw new AuthError('malformed_json', 'The request body is not valid JSON.')
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

/** In `reads` of an endpoint with `readsBody`: the validated body, or undefined when it was refused. */
export const bodyOf = <T>(c: Context<AppEnv>): T | undefined => (c.req.valid as (target: 'json') => T | undefined)('json')

const tooLarge = () => new AuthError('payload_too_large', `The request body exceeds ${MAX_BODY_BYTES} bytes.`)

/**
 * The body, counted as it streams in: Content-Length can lie or be absent (chunked), and
 * reading a 100 MB body whole before measuring it would fill a 128 MB isolate. Reading stops
 * at the first chunk past the limit.
 */
async function readBounded(body: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array> {
  if (!body) return new Uint8Array()
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      reader.cancel().catch(() => {})
      throw tooLarge()
    }
    chunks.push(value)
  }
  if (chunks.length === 1) return chunks[0]!
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  return bytes
}

/**
 * Null bytes end C strings (and Postgres refuses them in text); lone surrogates cannot be
 * encoded as UTF-8. Both are refused everywhere, before any schema sees them, and so is
 * nesting deeper than MAX_BODY_DEPTH. The walk keeps its own stack: 16 KB of `[` is 16,000
 * levels, deeper than the call stack goes.
 */
function unsafeStrings(root: object): FieldError[] {
  const errors: FieldError[] = []
  const stack: { value: unknown; path: string[] }[] = [{ value: root, path: [] }]
  while (stack.length) {
    const { value, path } = stack.pop()!
    if (typeof value === 'string') {
      if (value.includes('\0')) errors.push({ field: path.join('.'), message: 'must not contain null bytes' })
      else if (!value.isWellFormed()) errors.push({ field: path.join('.'), message: 'must be valid Unicode' })
    } else if (typeof value === 'object' && value !== null) {
      if (path.length >= MAX_BODY_DEPTH) {
        errors.push({ field: path.join('.'), message: `is nested more than ${MAX_BODY_DEPTH} deep` })
        continue
      }
      // Pushed in reverse so fields are reported in the order they were sent.
      const entries = Object.entries(value)
      for (let i = entries.length - 1; i >= 0; i--) stack.push({ value: entries[i]![1], path: [...path, entries[i]![0]] })
    }
  }
  return errors
}
