import type { Database } from '../../db/client'
import {
  countOtherActiveOwners,
  deleteUser,
  findMember,
  setMemberRole,
  setUserActive,
  withOrganizationLocked,
} from '../../db/queries/organizations'
import type { Member } from '../../db/queries/organizations'
import { revokeUserSessions } from '../../db/queries/sessions'
import type { Role } from '../../db/schema'
import { recordEvent } from './audit'
import { AuthError, notFound, unauthenticated } from './errors'
import { canGrant } from './roles'
import type { Services } from './services'

/** Who is acting: ids come from the verified session, never from the request. */
export interface Actor {
  userId: string
  orgId: string
}

const forbidden = (detail: string) => new AuthError('forbidden', detail)
const lastOwner = () =>
  new AuthError('last_owner', 'The organization must keep an active owner: promote another member to owner first.')

/**
 * The checks every change to someone's membership passes, read under the organization's
 * lock: the actor's role is re-read there, so a demotion that just committed counts.
 */
async function authorize(tx: Database, actor: Actor, targetUserId: string): Promise<{ me: Member; target: Member }> {
  const me = await findMember(tx, actor.orgId, actor.userId)
  if (!me) throw unauthenticated('session_revoked', 'The session has ended.')
  // Another organization's user and an unknown id are the same answer: nothing leaks across tenants.
  const target = await findMember(tx, actor.orgId, targetUserId)
  if (!target) throw notFound('Member')
  if (!canGrant(me.role, target.role)) throw forbidden('You cannot manage a member whose role is above yours.')
  // Peers: an admin manages members, not another admin; only owners manage admins and owners.
  if (target.userId !== me.userId && target.role !== 'member' && me.role !== 'owner')
    throw forbidden('Only an owner can manage an admin.')
  return { me, target }
}

/** Whether `target` is the organization's only active owner, so it must stay one. */
const isLastOwner = async (tx: Database, orgId: string, target: Member) =>
  target.role === 'owner' && target.isActive && (await countOtherActiveOwners(tx, orgId, target.userId)) === 0

/**
 * Changes a member's role and/or active flag. Deactivating ends every session of the user,
 * so a copied refresh token is dead even after reactivation; until then their access
 * tokens answer 403. A new role reaches the token at the next refresh, and at once on any
 * route, since routes check the live role too (http/auth.ts).
 */
export async function updateMember(
  s: Services,
  actor: Actor,
  targetUserId: string,
  changes: { role?: Role; isActive?: boolean },
): Promise<Member> {
  const { now } = s
  return withOrganizationLocked(s.db, actor.orgId, async (tx) => {
    // Audited in the change's own transaction: a change and its record commit together.
    const audit = (type: 'member_role_changed' | 'member_deactivated' | 'member_reactivated', detail: Record<string, string | number>) =>
      recordEvent(s, { type, outcome: 'success', ...actor, detail: { target_user_id: target.userId, ...detail } }, tx)
    const { me, target } = await authorize(tx, actor, targetUserId)
    if (changes.role !== undefined && target.userId === me.userId) throw forbidden('You cannot change your own role.')
    if (changes.role && !canGrant(me.role, changes.role)) throw forbidden('You cannot grant a role above your own.')
    const losesOwner = (changes.role !== undefined && changes.role !== 'owner') || changes.isActive === false
    if (losesOwner && (await isLastOwner(tx, actor.orgId, target))) throw lastOwner()
    if (changes.role && changes.role !== target.role) {
      await setMemberRole(tx, actor.orgId, target.userId, changes.role)
      await audit('member_role_changed', { from: target.role, to: changes.role })
    }
    if (changes.isActive !== undefined && changes.isActive !== target.isActive) {
      await setUserActive(tx, target.userId, changes.isActive, now)
      if (changes.isActive) await audit('member_reactivated', {})
      else await audit('member_deactivated', { sessions_ended: await revokeUserSessions(tx, target.userId, now) })
    }
    return (await findMember(tx, actor.orgId, target.userId))!
  })
}

/**
 * Removes a member. With one account in one organization, a user without a membership could
 * never log in again and would hold their email forever; the user is deleted instead (their
 * sessions and tokens go with them), which frees the email for a new invitation.
 */
export async function removeMember(s: Services, actor: Actor, targetUserId: string): Promise<void> {
  await withOrganizationLocked(s.db, actor.orgId, async (tx) => {
    const { target } = await authorize(tx, actor, targetUserId)
    if (await isLastOwner(tx, actor.orgId, target)) throw lastOwner()
    await deleteUser(tx, target.userId)
    await recordEvent(s, { type: 'member_removed', outcome: 'success', ...actor, detail: { target_user_id: target.userId, role: target.role } }, tx)
  })
}
