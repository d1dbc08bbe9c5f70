import type { Dialect } from '../http/dialect'
import type { FailureBody } from '../http/errors'
import type { AuthError } from '../core/errors'

/** The `/v1` dialect: clients written against its docs match on these exact messages. */
function message(error: AuthError, status: number): string {
  if (status === 401) return 'Unauthenticated.'
  if (error.code === 'insufficient_scope') return 'This action is unauthorized.'
  // Laravel's throttle message, which the dialect's clients know.
  if (status === 429) return 'Too Many Attempts.'
  return error.detail
}

/** `{success: false, message, errors?: {field: [messages]}}`, as Laravel answers. */
const envelope: FailureBody = (c, error, { status, headers, requestId }) => {
  const body: Record<string, unknown> = { success: false, message: message(error, status) }
  if (error.extra.errors) {
    // No prototype: a field named `__proto__` or `constructor` is a key like any other.
    const errors: Record<string, string[]> = Object.create(null)
    for (const { field, message } of error.extra.errors) (errors[field] ??= []).push(message)
    body.errors = errors
  }
  if (requestId) body.request_id = requestId
  return c.json(body, status as 400, headers)
}

/** The /v1 dialect: every answer in an envelope, `{success: true, data}` or `{success: false, message}`. */
export const v1: Dialect = {
  base: '/v1',
  failure: envelope,
  doc: {
    error: {
      name: 'V1Error',
      mediaType: 'application/json',
      schema: {
        type: 'object',
        required: ['success', 'message'],
        properties: {
          success: { const: false },
          message: { type: 'string' },
          errors: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
        },
      },
    },
    success: (data) => ({ type: 'object', required: ['success', 'data'], properties: { success: { const: true }, data } }),
    tag: () => '/v1 dialect',
  },
}
