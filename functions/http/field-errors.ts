import type * as z from 'zod/mini'
import type { FieldError } from '../core/errors'

/** A schema's issues as the contract's field errors: `{field: 'a.b', message}`, in words a client can show. */
export function fieldErrors(error: z.core.$ZodError, input: object): FieldError[] {
  return error.issues.map((issue) => {
    // Own properties only: a missing `__proto__` or `constructor` must not find Object.prototype's.
    const value = issue.path.reduce<unknown>(
      (v, key) => (typeof v === 'object' && v !== null && Object.hasOwn(v, key) ? (v as Record<PropertyKey, unknown>)[key] : undefined),
      input,
    )
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
