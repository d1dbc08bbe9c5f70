import * as z from 'zod/mini'
import { invite } from '../core/invitations'
import { orgKey, userKey } from '../core/rate-limit'
import { endpoint } from '../http/endpoint'
import { services } from '../http/respond'
import { email } from '../http/schemas'
import { invitation, invitationBody, role } from './schemas'

// POST /api/v1/org/invitations
export const createInvitationEndpoint = endpoint(
  {
    summary: 'Invite someone into the organization (owner, admin)',
    description:
      'Mails a single-use link that expires (INVITATION_TTL, default 7 days). The role cannot be above the caller’s. ' +
      '409 when the email already has an account. A newer invitation to the same email revokes the older one. ' +
      'When the inviter’s own address is not verified yet, the invitation is created but held (`held: true`): no mail ' +
      'goes out and it cannot be accepted until the inviter verifies their address; then its mail is sent.',
    auth: 'invitations:write',
    body: z.object({ email, role }),
    responses: {
      201: { description: 'The invitation (its token is only in the mail)', schema: invitation },
      429: { description: 'Too many invitations from this user or organization (Retry-After)' },
    },
  },
  async (c) => {
    const s = services(c)
    const { userId, orgId } = c.var.auth.principal
    // Each invitation is a mail to any address with a subject the inviter chose: bounded.
    const created = await invite(s, c.var.auth.principal, c.req.valid('json'), [
      { key: userKey('invite', userId), policy: s.config.rateLimits.invitationsPerUser },
      { key: orgKey('invite', orgId), policy: s.config.rateLimits.invitationsPerOrg },
    ])
    return c.json(invitationBody(created, s.now), 201)
  },
)
