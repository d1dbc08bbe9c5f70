import type { Context } from 'hono'
import { notFound, validationFailed } from '../core/errors'
import type { FieldError } from '../core/errors'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** A UUID path parameter; anything else names no resource (and must never reach Postgres's uuid cast). */
export function uuidParam(c: Context, name: string, what: string): string {
  const value = c.req.param(name)
  if (!value || !UUID.test(value)) throw notFound(what)
  return value.toLowerCase()
}

export interface Page {
  limit: number
  offset: number
}

export const MAX_PAGE_SIZE = 100

/** `pageParams` as the OpenAPI document describes them (EndpointSpec.query). */
export const PAGE_QUERY = {
  limit: { description: 'Items per page', schema: { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: 50 } },
  offset: { description: 'Items to skip', schema: { type: 'integer', minimum: 0, maximum: 1_000_000, default: 0 } },
} as const

/** `?limit=` (1–100, default 50) and `?offset=` (default 0). */
export function pageParams(c: Context): Page {
  const errors: FieldError[] = []
  const read = (name: string, fallback: number, min: number, max: number) => {
    const raw = c.req.query(name)
    if (raw === undefined || raw === '') return fallback
    const n = Number(raw)
    if (!/^\d+$/.test(raw) || n < min || n > max) {
      errors.push({ field: name, message: `must be a whole number from ${min} to ${max}` })
      return fallback
    }
    return n
  }
  const page = { limit: read('limit', 50, 1, MAX_PAGE_SIZE), offset: read('offset', 0, 0, 1_000_000) }
  if (errors.length) throw validationFailed(errors)
  return page
}

/** `?limit=` (1 to `maxLimit`, default `defaultLimit`) and an opaque `?cursor=` (the previous page's `next_cursor`). */
export function cursorPageParams(c: Context, { defaultLimit, maxLimit }: { defaultLimit: number; maxLimit: number }) {
  const errors: FieldError[] = []
  const limitParam = c.req.query('limit')
  const cursor = c.req.query('cursor')
  const limit = limitParam === undefined ? defaultLimit : Number(limitParam)
  if (!/^\d+$/.test(limitParam ?? '1') || limit < 1 || limit > maxLimit)
    errors.push({ field: 'limit', message: `must be a whole number from 1 to ${maxLimit}` })
  if (cursor !== undefined && !/^\d{1,18}$/.test(cursor)) errors.push({ field: 'cursor', message: 'is not a cursor from this API' })
  if (errors.length) throw validationFailed(errors)
  return { limit, cursor }
}
