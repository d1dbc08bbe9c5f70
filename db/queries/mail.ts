import { desc, eq } from 'drizzle-orm'
import type { Database } from '../client'
import { mailOutbox } from '../schema'

export type OutboxMail = typeof mailOutbox.$inferSelect

export async function insertOutboxMail(db: Database, mail: { to: string; subject: string; text: string; now: Date }) {
  await db.insert(mailOutbox).values({ to: mail.to, subject: mail.subject, text: mail.text, createdAt: mail.now })
}

/** Newest first; `to` narrows to one recipient. */
export async function listOutboxMail(db: Database, options: { to?: string; limit: number }): Promise<OutboxMail[]> {
  return db
    .select()
    .from(mailOutbox)
    .where(options.to ? eq(mailOutbox.to, options.to) : undefined)
    .orderBy(desc(mailOutbox.createdAt), desc(mailOutbox.id))
    .limit(options.limit)
}
