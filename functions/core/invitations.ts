import { allOrNothing } from '../../db/client'
import { isUniqueViolation } from '../../db/errors'
import {
  acceptInvitation,
  createInvitationIf,
  deleteInvitation,
  findInvitation,
  findInvitationByToken,
  heldInvitationsOf,
  releaseInvitations,
  revokeInvitationSql,
} from '../../db/queries/invitations'
import type { Invitation } from '../../db/queries/invitations'
import { roles } from '../../db/schema'
import type { Role } from '../../db/schema'
import { eventRow, eventStatement, eventStatementIf } from './audit'
import { changeWithEvent } from '../../db/queries/events'
import { hashToken, randomToken } from './crypto'
import { AuthError, notFound } from './errors'
import { prepareLogin } from './login'
import type { LoginOutcome } from './login'
import { mailWithWrite, sendMail } from './mail'
import { checkNewPassword } from './password-policy'
import { hashPassword } from './passwords'
import { checkRates, checkRatesAnd, underLimits } from './rate-limit'
import type { WindowPolicy } from '../config/rate-limits'
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
  limits: { key: string; policy: WindowPolicy }[] = [],
): Promise<Invitation> {
  // The caller's limits are counted first, whatever follows: a 429 before any other answer.
  if (!canGrant(actor.role, input.role)) {
    await checkRates(s, limits)
    throw new AuthError('forbidden', 'You cannot invite someone with a role above your own.')
  }
  const token = randomToken()
  const held = !actor.isVerified
  const created = {
    id: crypto.randomUUID(),
    orgId: actor.orgId,
    email: input.email,
    role: input.role,
    tokenHash: await hashToken(token),
    invitedBy: actor.userId,
    now: s.now,
    expiresAt: expiry(s),
    held,
  }
  const event = {
    type: 'invitation_created',
    outcome: 'success',
    userId: actor.userId,
    orgId: actor.orgId,
    detail: { invitation_id: created.id, role: created.role, ...(held ? { held: true } : {}) },
  } as const
  // One round trip: the limits counted, and within them (and while no account holds the
  // address) the invitation, its outbox mail and its audit row. A mail through the email API
  // can fail after the write: the invitation is then withdrawn, never audited; so there the
  // audit row waits for the mail.
  const write = createInvitationIf(s.db, created, underLimits(limits))
  const mail = mailWithWrite(s, invitationMessage(s, created, token, actor.orgName), { only: write.written })
  const mailAfter = !held && mail.statements.length === 0
  const results = await checkRatesAnd(s, limits, [
    ...write.statements,
    ...(held ? [] : mail.statements),
    ...(mailAfter ? [] : [eventStatementIf(s, event, write.written)]),
    write.read,
  ])
  // Within the limits, nothing written means an account holds the address.
  const [invitation] = results.at(-1) as Invitation[]
  if (!invitation) throw emailTaken()
  if (mailAfter) {
    try {
      await mail.afterCommit()
    } catch (error) {
      await deleteInvitation(s.db, invitation.id)
      throw error
    }
    await eventStatement(s, event)
  }
  return invitation
}

const expiry = (s: Services) => new Date(s.now.getTime() + s.config.invitationTtlSeconds * 1000)

function invitationMessage(s: Services, invitation: { email: string; role: Role; expiresAt: Date }, token: string, orgName: string) {
  const link = `${s.config.appUrl}/accept-invitation?token=${encodeURIComponent(token)}`
  return {
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
  }
}

const mailInvitation = (s: Services, invitation: Invitation, token: string, orgName: string) =>
  sendMail(s, invitationMessage(s, invitation, token, orgName))

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
  // The revocation and its audit row in one statement (the row only if it revoked one); the
  // reasons for a refusal are read after, on the refused path only.
  const event = eventRow(s, { type: 'invitation_revoked', outcome: 'success', userId: actor.userId, orgId, detail: { invitation_id: id } })
  if (await changeWithEvent(s.db, revokeInvitationSql(s.db, orgId, id, grantable, s.now), event, { only: 'if-changed' })) return
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
 * argon2 time; one batch then spends it with the account and the session, atomically.
 */
export async function acceptAndLogin(s: Services, input: { token: string; password: string; fullName: string }): Promise<LoginOutcome> {
  const tokenHash = await hashToken(input.token)
  const found = await findInvitationByToken(s.db, tokenHash)
  if (!found || invitationStatus(found.invitation, s.now) !== 'pending') throw invalidInvitation()
  const { invitation, orgName } = found
  if (found.emailTaken) throw emailTaken()
  await checkNewPassword(s, input.password, { field: 'password', email: invitation.email, fullName: input.fullName })
  const passwordHash = hashPassword(await s.argon2(), input.password)
  const who = { userId: crypto.randomUUID(), orgId: invitation.orgId, role: invitation.role }
  // A new account has no 2FA: the session opens in the same batch as the account (one round trip).
  const login = await prepareLogin(s, who, 'password')
  const done = await allOrNothing(s.db, [
    ...acceptInvitation(s.db, { invitation, userId: who.userId, fullName: input.fullName, passwordHash, now: s.now }),
    eventStatement(s, {
      type: 'invitation_accepted',
      outcome: 'success',
      userId: who.userId,
      orgId: who.orgId,
      detail: { invitation_id: invitation.id, role: invitation.role },
    }),
    ...login.statements,
  ]).catch((error) => {
    throw isUniqueViolation(error) ? emailTaken() : error
  })
  // Also a held invitation, or one whose inviter has lost the right to grant its role.
  if (!done) throw invalidInvitation()
  return { kind: 'tokens', account: { user: done[1][0]!, org: { id: who.orgId, name: orgName }, role: who.role }, tokens: login.tokens }
}