import type Argon2 from '@phi-ag/argon2'
import type { RequestDatabase } from '../../db/client'
import type { Principal } from '../../db/queries/sessions'
import type { Bindings, Config } from '../config'
import type { ClientInfo } from '../core/sessions'
import type { VerifiedAccess } from '../core/tokens'

/** The types every handler sees through `c.env` and `c.var`. */
export interface AppEnv {
  Bindings: Bindings
  Variables: {
    config: Config
    db: RequestDatabase
    now: () => Date
    argon2: () => Promise<Argon2>
    /** Injectable so a whole OAuth flow runs against a local server in tests. */
    fetch: typeof fetch
    client: ClientInfo
    /** Set by `requireAuth`. */
    auth: { claims: VerifiedAccess; principal: Principal }
    /** The results of an endpoint's `reads`, set by `requireAuth`; typed for the handler by `endpoint`. */
    reads: unknown
  }
}
