import type { MailConfig } from '../../config/mail'
import { AuthError } from '../errors'
import type { MailMessage } from './index'

const unavailable = (internal: unknown) =>
  new AuthError('mail_unavailable', 'The mail could not be sent; try again later.', { internal })

/**
 * Production transport: Resend's JSON API (`POST /emails` with `{from, to, subject, text}`
 * and a bearer key). Any provider with that shape works by pointing MAIL_API_URL at it.
 */
export async function sendThroughHttp(fetch: typeof globalThis.fetch, config: MailConfig, message: MailMessage): Promise<void> {
  if (!config.apiKey || !config.from) throw unavailable('MAIL_API_KEY and MAIL_FROM must be set for MAIL_TRANSPORT=http')
  let response: Response
  try {
    response = await fetch(config.apiUrl, {
      method: 'POST',
      headers: { Authorization: `Bearer ${config.apiKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ from: config.from, to: [message.to], subject: message.subject, text: message.text }),
      signal: AbortSignal.timeout(10_000),
    })
  } catch (error) {
    throw unavailable(error)
  }
  // The provider's error body can echo the recipient; only its status goes to the log.
  await response.body?.cancel()
  if (!response.ok) throw unavailable(`mail API answered ${response.status}`)
}
