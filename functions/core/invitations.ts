import { findUserByEmail } from '../../db/queries/accounts'
import {
  acceptInvitation,
  createInvitation,
  deleteInvitation,
  findInvitation,
  findInvitationByToken,
  heldInvitationsOf,
  releaseInvitations,
  revokeInvitation,
} from '../../db/queries/invitations'
import type { Invitation } from '../../db/queries/invitations'
import { roles } from '../../db/schema'
import type { Role } from '../../db/schema'
import { recordEvent } from './audit'
import { hashToken, randomToken } from './crypto'
import { AuthError, notFound } from './errors'
import { completeLogin } from './login'
import type { LoginOutcome } from './login'
import { sendMail } from './mail'
import { checkNewPassword } from './password-policy'
import { hashPassword } from './passwords'
import { canGrant } from './roles'
import type { Services } from './services'

const emailTaken = () =>
  new AuthError('email_taken', 'An account with this email already exists; an account belongs to one organization.')

export type InvitationStatus = 'pending' | 'accepted' | 'revoked' | 'expired'

export function invitationStatus(i: Invitation, now: Date): InvitationStatus {
  if (i.acceptedAt) return 'accepted'
  if (i.revokedAt) return 'revoked'
  return i.expiresAt <= now ? 'expired' : 'pending'
}

/**
 * Invites an email into the caller's organization with a role no higher than the caller's,
 * and mails the single-use link. Only the token's hash is stored. If the mail cannot be
 * sent, the invitation is withdrawn: nobody could ever use it.
 *
 * An inviter whose own address is unproven gets the invitation, held: no mail goes out and
 * it cannot be accepted until they verify their address (then `releaseHeldInvitations`).
 * A throwaway account cannot send mail to strangers, nor plant co-owners before the real
 * owner of the address arrives.
 */
export async function invite(
  s: Services,
  actor: { userId: string; orgId: string; orgName: string; role: Role; isVerified: boolean },
  input: { email: string; role: Role },
): Promise<Invitation> {
  if (!canGrant(actor.role, input.role)) throw new AuthError('forbidden', 'You cannot invite someone with a role above your own.')
  if (await findUserByEmail(s.db, input.email)) throw emailTaken()
  const token = randomToken()
  const invitation = await createInvitation(s.db, {
    orgId: actor.orgId,
    email: input.email,
    role: input.role,
    tokenHash: await hashToken(token),
    invitedBy: actor.userId,
    now: s.now,
    expiresAt: expiry(s),
    held: !actor.isVerified,
  })
  if (!invitation.held) {
    try {
      await mailInvitation(s, invitation, token, actor.orgName)
    } catch (error) {
      await deleteInvitation(s.db, invitation.id)
      throw error
    }
  }
  await recordEvent(s, {
    type: 'invitation_created',
    outcome: 'success',
    userId: actor.userId,
    orgId: actor.orgId,
    detail: { invitation_id: invitation.id, role: invitation.role, ...(invitation.held ? { held: true } : {}) },
  })
  return invitation
}

const expiry = (s: Services) => new Date(s.now.getTime() + s.config.invitationTtlSeconds * 1000)

function mailInvitation(s: Services, invitation: Invitation, token: string, orgName: string) {
  const link = `${s.config.appUrl}/accept-invitation?token=${encodeURIComponent(token)}`
  return sendMail(s, {
    to: invitation.email,
    subject: `You are invited to join ${orgName}`,
    text: [
      `You have been invited to join ${orgName} as ${invitation.role}.`,
      '',
      `Accept the invitation and choose your password here:`,
      link,
      '',
      `The link works once and expires on ${invitation.expiresAt.toISOString()}.`,
      'If you did not expect this invitation, ignore this mail.',
    ].join('\n'),
  })
}

/**
 * The inviter proved their address: their held invitations get a new token each (the first
 * was never sent), a full lifetime from now, and their mail. A mail that fails is logged;
 * the invitation stays pending, and inviting again sends a new one.
 */
export async function releaseHeldInvitations(s: Services, inviterId: string): Promise<void> {
  const held = await heldInvitationsOf(s.db, inviterId, s.now)
  if (held.length === 0) return
  const tokens = new Map<string, string>()
  const released = await Promise.all(
    held.map(async ({ invitation }) => {
      const token = randomToken()
      tokens.set(invitation.id, token)
      return { id: invitation.id, tokenHash: await hashToken(token) }
    }),
  )
  const orgNames = new Map(held.map((h) => [h.invitation.id, h.orgName]))
  for (const invitation of await releaseInvitations(s.db, released, expiry(s)))
    await mailInvitation(s, invitation, tokens.get(invitation.id)!, orgNames.get(invitation.id)!).catch((error) =>
      console.error('invitation mail not sent', error),
    )
}

/**
 * Revokes a pending invitation of the caller's organization; revoking twice is harmless.
 * Revoking needs the right to grant the invitation's role: an admin cannot undo an owner's
 * invitation of another owner.
 */
export async function revoke(s: Services, actor: { userId: string; orgId: string; role: Role }, id: string): Promise<void> {
  const { orgId } = actor
  const grantable = roles.filter((role) => canGrant(actor.role, role))
  if (await revokeInvitation(s.db, orgId, id, grantable, s.now)) {
    await recordEvent(s, { type: 'invitation_revoked', outcome: 'success', userId: actor.userId, orgId, detail: { invitation_id: id } })
    return
  }
  const invitation = await findInvitation(s.db, orgId, id)
  if (!invitation) throw notFound('Invitation')
  if (!canGrant(actor.role, invitation.role))
    throw new AuthError('forbidden', 'You cannot revoke an invitation to a role above your own.')
  if (invitation.acceptedAt) throw new AuthError('conflict', 'The invitation was already accepted.')
}

const invalidInvitation = () =>
  new AuthError('invitation_invalid', 'The invitation is invalid, expired, revoked or already used.')

/**
 * Creates the invited user in the inviting organization with the invited role, and signs
 * them in. The token is looked up before the password is hashed, so random tokens cost no
 * argon2 time; the transaction then spends it atomically.
 */
export async function acceptAndLogin(s: Services, input: { token: string; password: string; fullName: string }): Promise<LoginOutcome> {
  const tokenHash = await hashToken(input.token)
  const invitation = await findInvitationByToken(s.db, tokenHash)
  if (!invitation || invitationStatus(invitation, s.now) !== 'pending') throw invalidInvitation()
  if (await findUserByEmail(s.db, invitation.email)) throw emailTaken()
  await checkNewPassword(s, input.password, { field: 'password', email: invitation.email, fullName: input.fullName })
  const passwordHash = hashPassword(await s.argon2(), input.password)
  // The audit row commits with the membership: an answer lost after the commit must not lose it.
  const result = await acceptInvitation(s.db, { tokenHash, fullName: input.fullName, passwordHash, now: s.now }, (tx, account, spent) =>
    recordEvent(
      s,
      { type: 'invitation_accepted', outcome: 'success', userId: account.user.id, orgId: account.org.id, detail: { invitation_id: spent.id, role: spent.role } },
      tx,
    ),
  )
  // Also a held invitation, or one whose inviter has lost the right to grant its role.
  if (result.kind === 'invalid') throw invalidInvitation()
  if (result.kind === 'email_taken') throw emailTaken()
  return completeLogin(s, result.account)
}
