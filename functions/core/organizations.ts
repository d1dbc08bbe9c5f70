import type { BatchItem, BatchResponse } from 'drizzle-orm/batch'
import { allOrNothing } from '../../db/client'
import type { Database } from '../../db/client'
import { changeWithEventsStatement, insertEvent } from '../../db/queries/events'
import { deleteUser, lockedAndUnchanged, selectMember, selectMembershipState, setMemberRole, setUserActive } from '../../db/queries/organizations'
import type { Member, MembershipState } from '../../db/queries/organizations'
import { revokeUserSessionsStatement } from '../../db/queries/sessions'
import type { Role } from '../../db/schema'
import { eventRow, eventStatement } from './audit'
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

/** The read a membership change is decided on, for a batch (the session check's, at the endpoint). */
export const membershipReads = (db: Database, actor: Actor, targetUserId: string) =>
  [selectMembershipState(db, actor.orgId, actor.userId, targetUserId)] as const

export type MembershipReads = BatchResponse<ReturnType<typeof membershipReads>>

/** The checks every change to someone's membership passes, on the read its batch then holds to. */
function authorize([rows]: MembershipReads, actor: Actor, targetUserId: string) {
  const me = rows.find((row) => row.userId === actor.userId)
  const target = rows.find((row) => row.userId === targetUserId)
  if (!me) throw unauthenticated('session_revoked', 'The session has ended.')
  // Another organization's user and an unknown id are the same answer: nothing leaks across tenants.
  if (!target) throw notFound('Member')
  if (!canGrant(me.role, target.role)) throw forbidden('You cannot manage a member whose role is above yours.')
  // Peers: an admin manages members, not another admin; only owners manage admins and owners.
  if (target.userId !== me.userId && target.role !== 'member' && me.role !== 'owner')
    throw forbidden('Only an owner can manage an admin.')
  return { me, target, otherActiveOwners: target.otherActiveOwners }
}

/**
 * Decides a membership change on `reads` and writes it in one batch that first takes the
 * organization's lock and checks the reads still hold (`lockedAndUnchanged`). When another
 * change committed in between, nothing was written: read again and decide again on what it
 * left. Every retry follows someone else's commit, so the organization always makes progress.
 */
async function changeMembership<T>(
  s: Services,
  actor: Actor,
  targetUserId: string,
  reads: MembershipReads | undefined,
  decide: (reads: MembershipReads) => { state: MembershipState; writes: BatchItem<'pg'>[]; result: (done: unknown[]) => T },
): Promise<T> {
  for (;;) {
    const { state, writes, result } = decide(reads ?? (await s.db.batch(membershipReads(s.db, actor, targetUserId))))
    const done = await allOrNothing(s.db, [...lockedAndUnchanged(s.db, actor.orgId, state), ...writes])
    if (done) return result(done)
    reads = undefined
  }
}

const stateOf = (me: Member, target: Member, takesOwner: boolean): MembershipState => ({
  me: { userId: me.userId, role: me.role },
  target: { userId: target.userId, role: target.role, isActive: target.isActive },
  needsAnotherOwner: takesOwner && target.role === 'owner' && target.isActive,
})

/**
 * Changes a member's role and/or active flag. Deactivating ends every session of the user,
 * so a copied refresh token is dead even after reactivation; until then their access
 * tokens answer 403. A new role reaches the token at the next refresh, and at once on any
 * route, since routes check the live role too (http/auth.ts). `reads` are `membershipReads`
 * when the caller already has them.
 */
export async function updateMember(
  s: Services,
  actor: Actor,
  targetUserId: string,
  changes: { role?: Role; isActive?: boolean },
  reads?: MembershipReads,
): Promise<Member> {
  const { now } = s
  return changeMembership(s, actor, targetUserId, reads, (read) => {
    const { me, target, otherActiveOwners } = authorize(read, actor, targetUserId)
    if (changes.role !== undefined && target.userId === me.userId) throw forbidden('You cannot change your own role.')
    if (changes.role && !canGrant(me.role, changes.role)) throw forbidden('You cannot grant a role above your own.')
    const state = stateOf(me, target, (changes.role !== undefined && changes.role !== 'owner') || changes.isActive === false)
    if (state.needsAnotherOwner && otherActiveOwners === 0) throw lastOwner()
    // Audited in the change's own batch: a change and its record commit together.
    const event = (type: 'member_role_changed' | 'member_deactivated' | 'member_reactivated', detail: Record<string, string | number>) =>
      eventRow(s, { type, outcome: 'success', ...actor, detail: { target_user_id: target.userId, ...detail } })
    const writes: BatchItem<'pg'>[] = []
    if (changes.role && changes.role !== target.role)
      writes.push(setMemberRole(s.db, actor.orgId, target.userId, changes.role), insertEvent(s.db, event('member_role_changed', { from: target.role, to: changes.role })))
    if (changes.isActive !== undefined && changes.isActive !== target.isActive) {
      writes.push(setUserActive(s.db, target.userId, changes.isActive, now))
      writes.push(
        changes.isActive
          ? insertEvent(s.db, event('member_reactivated', {}))
          : changeWithEventsStatement(s.db, revokeUserSessionsStatement(s.db, target.userId, now).getSQL(), [
              { event: event('member_deactivated', {}), countAs: 'sessions_ended' },
            ]),
      )
    }
    writes.push(selectMember(s.db, actor.orgId, target.userId))
    return { state, writes, result: (done) => (done.at(-1) as Member[])[0]! }
  })
}

/**
 * Removes a member. With one account in one organization, a user without a membership could
 * never log in again and would hold their email forever; the user is deleted instead (their
 * sessions and tokens go with them), which frees the email for a new invitation.
 */
export async function removeMember(s: Services, actor: Actor, targetUserId: string, reads?: MembershipReads): Promise<void> {
  await changeMembership(s, actor, targetUserId, reads, (read) => {
    const { me, target, otherActiveOwners } = authorize(read, actor, targetUserId)
    const state = stateOf(me, target, true)
    if (state.needsAnotherOwner && otherActiveOwners === 0) throw lastOwner()
    const writes = [
      deleteUser(s.db, target.userId),
      eventStatement(s, { type: 'member_removed', outcome: 'success', ...actor, detail: { target_user_id: target.userId, role: target.role } }),
    ]
    return { state, writes, result: () => undefined }
  })
}
