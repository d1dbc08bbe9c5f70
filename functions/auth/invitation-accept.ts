import * as z from 'zod/mini'
import { acceptAndLogin } from '../core/invitations'
import { endpoint } from '../http/endpoint'
import { loginBody, services, tokenResponse } from '../http/respond'
import { loginResult, name, opaqueToken, password, twoFactorChallenge } from '../http/schemas'

// POST /api/v1/auth/invitations/accept
export const acceptInvitationEndpoint = endpoint(
  {
    summary: 'Accept an invitation: create the account in the inviting organization and sign in',
    description:
      'The token comes from the invitation mail; it works once. 400 `invitation_invalid` when it is unknown, expired, ' +
      'revoked or used; 409 `email_taken` when the email already has an account.',
    auth: false,
    body: z.object({ token: opaqueToken, password, full_name: name }),
    responses: { 201: { description: 'The new member, signed in', schema: z.union([loginResult, twoFactorChallenge]) } },
  },
  async (c) => {
    const { token, password, full_name } = c.req.valid('json')
    const outcome = await acceptAndLogin(services(c), { token, password, fullName: full_name })
    if (outcome.kind === 'two_factor') return tokenResponse(c, { requires_2fa: true, session_token: outcome.sessionToken })
    return tokenResponse(c, loginBody(outcome.account, outcome.tokens), 201)
  },
)
