import type { RequestDatabase } from '../../db/client'
import { listMembers } from '../../db/queries/organizations'
import type { Caller } from './sessions'

/**
 * Everyone in the caller's organization, oldest member first, unpaged: a read that runs in
 * the session check's round trip (an endpoint's `reads`).
 */
export const everyoneInOrganization = (db: RequestDatabase, caller: Caller) => [listMembers(db, caller.orgId)] as const
