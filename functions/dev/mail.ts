import * as z from 'zod/mini'
import { listOutboxMail } from '../../db/queries/mail'
import { endpoint } from '../http/endpoint'

// GET /dev/mail (development and previews only: registered behind `outboxReadable` in app.ts)
export const devMail = endpoint(
  {
    summary: 'Mail sent through the development outbox, newest first',
    description: 'Served only when ENVIRONMENT is development or preview. `?to=` narrows to one recipient.',
    auth: false,
    responses: {
      200: {
        description: 'The outbox',
        schema: z.object({
          messages: z.array(
            z.object({ id: z.uuid(), to: z.string(), subject: z.string(), text: z.string(), created_at: z.iso.datetime() }),
          ),
        }),
      },
    },
  },
  async (c) => {
    const rows = await listOutboxMail(c.var.db, { to: c.req.query('to') || undefined, limit: 100 })
    return c.json({
      messages: rows.map((m) => ({ id: m.id, to: m.to, subject: m.subject, text: m.text, created_at: m.createdAt.toISOString() })),
    })
  },
)
