import type { Database } from '../../../db/client'
import { insertOutboxMail } from '../../../db/queries/mail'
import type { MailMessage } from './index'

/** Development transport: the mail is kept in `mail_outbox`, readable at GET /dev/mail. */
export async function sendToOutbox(db: Database, message: MailMessage): Promise<void> {
  await insertOutboxMail(db, message)
}
