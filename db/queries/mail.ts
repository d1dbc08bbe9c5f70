import { desc, eq, sql } from 'drizzle-orm'
import type { SQL } from 'drizzle-orm'
import type { Database } from '../client'
import { mailOutbox } from '../schema'

export type OutboxMail = typeof mailOutbox.$inferSelect

/**
 * `created_at` is the database's clock, not the request's: the outbox is read newest first,
 * and two mails of one frozen test clock must still come out in the order they were sent.
 */
export function insertOutboxMail(db: Database, mail: { to: string; subject: string; text: string }) {
  return db.insert(mailOutbox).values({ to: mail.to, subject: mail.subject, text: mail.text })
}

/** `insertOutboxMail` only where `only` holds (SQL, read when the statement runs): the mail of a write its batch may have refused. */
export function insertOutboxMailIf(db: Database, mail: { to: string; subject: string; text: string }, only: SQL) {
  return db.execute(sql`insert into ${mailOutbox} ("to", subject, text) select ${mail.to}::text, ${mail.subject}::text, ${mail.text}::text where ${only}`)
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
