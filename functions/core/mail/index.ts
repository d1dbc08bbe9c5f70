import { AuthError } from '../errors'
import type { Services } from '../services'
import { sendThroughHttp } from './http'
import { sendToOutbox } from './outbox'
import { insertOutboxMail, insertOutboxMailIf } from '../../../db/queries/mail'
import type { Condition } from '../../../db/client'

/** What the log may say about a failed send: the code and its detail, never the recipient or text. */
export const mailFailure = (error: unknown) =>
  error instanceof AuthError ? { code: error.code, internal: String(error.extra.internal) } : { code: 'internal_error', error }

/** A plain-text mail to one recipient. */
export interface MailMessage {
  to: string
  subject: string
  text: string
}

/**
 * Sends one mail through the configured transport (`MAIL_TRANSPORT`): the email API in
 * production, the database outbox in development. Throws `mail_unavailable` (502) when the
 * provider refuses or cannot be reached. With `afterResponse`, the provider call finishes
 * after the response where the runtime allows it (the outbox needs the request's database
 * connection, so it is always written at once).
 *
 * @example
 * await sendMail(s, { to: 'ada@example.com', subject: 'Hello', text: 'Hi Ada' })
 */
export async function sendMail(s: Services, message: MailMessage, options: { afterResponse?: boolean } = {}): Promise<void> {
  const clean = cleanMessage(message)
  if (s.config.mail.transport === 'outbox') return sendToOutbox(s.db, clean)
  const sending = sendThroughHttp(s.fetch, s.config.mail, clean)
  // The provider's latency must not show in the response time of flows that may not reveal
  // whether an account exists (password/forgot); failures are logged, never answered.
  if (options.afterResponse && s.waitUntil) s.waitUntil(sending.catch((error) => s.log.error('mail not sent', mailFailure(error))))
  else await sending
}

// A CR or LF in a subject could start a new header in any provider that builds MIME from it.
const cleanMessage = (message: MailMessage): MailMessage => ({ ...message, subject: message.subject.replace(/[\r\n]+/g, ' ') })

/**
 * A mail that belongs to a database write (the verification mail of a new account): with the
 * outbox, its row is one more statement of the caller's batch; with the email API, it is sent
 * once the write is committed, after the response where the runtime allows it.
 */
export function mailWithWrite(
  s: Services,
  message: MailMessage,
  options: {
    afterResponse?: boolean
    /** The outbox row only where this holds (SQL): the mail of a write its batch may refuse. The email API's caller sends only after a write that happened. */
    only?: Condition
  } = { afterResponse: true },
) {
  const clean = cleanMessage(message)
  if (s.config.mail.transport === 'outbox')
    return { statements: [options.only ? insertOutboxMailIf(s.db, clean, options.only) : insertOutboxMail(s.db, clean)] as const, afterCommit: async () => {} }
  return { statements: [] as const, afterCommit: () => sendMail(s, clean, options) }
}
