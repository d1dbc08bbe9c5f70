import * as z from 'zod/mini'
import { createAccount } from '../../db/queries/accounts'
import { sendVerificationMail } from '../core/email-verification'
import { AuthError } from '../core/errors'
import { mailFailure } from '../core/mail'
import { recordEvent } from '../core/audit'
import { hashPassword } from '../core/passwords'
import { limitClient } from '../core/rate-limit'
import { startSession } from '../core/sessions'
import { endpoint } from '../http/endpoint'
import { loginBody, services, tokenResponse } from '../http/respond'
import { email, loginResult, name, password } from '../http/schemas'

// POST /api/v1/auth/register
export const register = endpoint(
  {
    summary: 'Create an account, its organization, and a first session',
    auth: false,
    body: z.object({ email, password, full_name: name, organization_name: name }),
    responses: {
      201: { description: 'The new owner, signed in', schema: loginResult },
      429: { description: 'Too many registrations from this IP (Retry-After)' },
    },
  },
  async (c) => {
    const input = c.req.valid('json')
    const s = services(c)
    await limitClient(s, 'register')
    const account = await createAccount(s.db, {
      email: input.email,
      fullName: input.full_name,
      organizationName: input.organization_name,
      passwordHash: hashPassword(await s.argon2(), input.password),
    })
    if (!account) throw new AuthError('email_taken', 409, 'An account with this email already exists.')
    const tokens = await startSession(s.db, s.config, { userId: account.user.id, orgId: account.org.id, role: account.role }, s.now, s.client)
    await recordEvent(s, {
      type: 'register',
      outcome: 'success',
      userId: account.user.id,
      orgId: account.org.id,
      detail: { method: 'password', session_id: tokens.sessionId },
    })
    // The account exists either way: a mail that fails is logged, and /verify-email/resend sends another.
    await sendVerificationMail(s, account.user, { afterResponse: true }).catch((error) => s.log.error('verification mail not sent', mailFailure(error)))
    return tokenResponse(c, loginBody(account, tokens), 201)
  },
)
