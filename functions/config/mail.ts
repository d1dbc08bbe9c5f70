import type { Bindings } from './bindings'
import type { Environment } from './environment'

export interface MailConfig {
  transport: 'outbox' | 'http'
  apiUrl: string
  apiKey?: string
  from?: string
}

export function mailConfig(env: Bindings, where: Environment): MailConfig {
  const transport = env.MAIL_TRANSPORT || (where === 'production' ? 'http' : 'outbox')
  if (transport !== 'outbox' && transport !== 'http') throw new Error('MAIL_TRANSPORT must be "outbox" or "http"')
  // A preview registers throwaway accounts with whatever address a reviewer types: real mail
  // from it would reach strangers, and its links point at a URL that dies with the branch.
  if (where === 'preview' && transport !== 'outbox') throw new Error('MAIL_TRANSPORT must be "outbox" when ENVIRONMENT is preview')
  // Missing credentials are not refused here: the Worker still serves everything else, and
  // the first mail sent fails loudly (502, logged) instead of vanishing into an outbox.
  return { transport, apiUrl: env.MAIL_API_URL || 'https://api.resend.com/emails', apiKey: env.MAIL_API_KEY, from: env.MAIL_FROM }
}
