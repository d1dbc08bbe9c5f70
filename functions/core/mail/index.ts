import type { Services } from '../services'
import { sendThroughHttp } from './http'
import { sendToOutbox } from './outbox'

/** A plain-text mail to one recipient. */
export interface MailMessage {
  to: string
  subject: string
  text: string
}

/**
 * Sends one mail through the configured transport (`MAIL_TRANSPORT`): the email API in
 * production, the database outbox in development. Throws `mail_unavailable` (502) when the
 * provider refuses or cannot be reached.
 *
 * @example
 * await sendMail(s, { to: 'ada@example.com', subject: 'Hello', text: 'Hi Ada' })
 */
export async function sendMail(s: Services, message: MailMessage): Promise<void> {
  // A CR or LF in a subject could start a new header in any provider that builds MIME from it.
  const clean = { ...message, subject: message.subject.replace(/[\r\n]+/g, ' ') }
  if (s.config.mail.transport === 'http') await sendThroughHttp(s.fetch, s.config.mail, clean)
  else await sendToOutbox(s.db, clean, s.now)
}
