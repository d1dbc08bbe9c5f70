import * as z from 'zod/mini'
import { pingDatabase } from '../../db/queries/health'
import { errorFields } from '../core/log'
import { endpoint } from '../http/endpoint'

// GET /health: liveness, and whether the database answers.
export const health = endpoint(
  {
    summary: 'Liveness and database reachability',
    auth: false,
    responses: {
      200: { description: 'Up', schema: z.object({ status: z.literal('ok'), database: z.literal('ok') }) },
      503: { description: 'The database does not answer' },
    },
  },
  async (c) => {
    try {
      await pingDatabase(c.var.db)
      return c.json({ status: 'ok', database: 'ok' }, 200, { 'Cache-Control': 'no-store' })
    } catch (error) {
      c.var.log.error('health: database unreachable', { code: 'database_unavailable', error: errorFields(error) })
      return c.json({ status: 'degraded', database: 'unreachable' }, 503, { 'Cache-Control': 'no-store' })
    }
  },
)
