import { batch } from '../../db/client'
import { accountStatements } from '../../db/queries/accounts'
import type { Account } from '../../db/queries/accounts'
import { isUniqueViolation } from '../../db/errors'
import { eventStatement } from './audit'
import { newAccountVerificationMail } from './email-verification'
import { AuthError } from './errors'
import { mailFailure } from './mail'
import { checkNewPassword } from './password-policy'
import { hashPassword } from './passwords'
import { limitClient } from './rate-limit'
import type { Services } from './services'
import { prepareSession } from './sessions'
import type { IssuedTokens } from './sessions'

export interface Registration {
  email: string
  fullName: string
  organizationName: string
  passwordHash: string
}

/**
 * Registers a new owner and their organization, signed in: the IP's limit, the password
 * policy, the hash, then the one atomic write. 409 `email_taken` when the address has an account.
 */
export async function register(
  s: Services,
  input: { email: string; password: string; fullName: string; organizationName: string },
): Promise<{ account: Account; tokens: IssuedTokens }> {
  // First, alone: an attacker over the limit must not get argon2 to run for them.
  await limitClient(s, 'register')
  await checkNewPassword(s, input.password, { field: 'password', email: input.email, fullName: input.fullName })
  const { password, ...rest } = input
  const created = await registerAccount(s, { ...rest, passwordHash: hashPassword(await s.argon2(), password) })
  if (!created) throw new AuthError('email_taken', 'An account with this email already exists.')
  return created
}

/**
 * Creates the account and everything that comes with it in one atomic write, one round trip:
 * organization, owner, membership, first session and refresh token, the audit row, and the
 * verification link (with its outbox mail). Either all of it exists or none of it (a retry
 * after a failure never meets a half-made account). Undefined when the email is taken.
 */
async function registerAccount(s: Services, r: Registration): Promise<{ account: Account; tokens: IssuedTokens } | undefined> {
  const ids = { orgId: crypto.randomUUID(), userId: crypto.randomUUID() }
  const owner = { userId: ids.userId, orgId: ids.orgId, role: 'owner' as const }
  const session = await prepareSession(s, owner)
  const mail = await newAccountVerificationMail(s, { id: ids.userId, email: r.email.trim(), fullName: r.fullName })
  let user: Account['user'] | undefined
  try {
    const [, [created]] = await batch(s.db, [
      ...accountStatements(s.db, { ...r, ...ids }),
      ...session.statements,
      eventStatement(s, { type: 'register', outcome: 'success', ...ids, detail: { method: 'password', session_id: session.tokens.sessionId } }),
      ...mail.statements,
    ])
    user = created
  } catch (error) {
    if (isUniqueViolation(error)) return undefined
    throw error
  }
  // The account exists either way: a mail that fails is logged, and /verify-email/resend sends another.
  await mail.afterCommit().catch((error) => s.log.error('verification mail not sent', mailFailure(error)))
  return { account: { user: user!, org: { id: ids.orgId, name: r.organizationName }, role: 'owner' }, tokens: session.tokens }
}
