import type Argon2 from '@phi-ag/argon2'
import type { RequestDatabase } from '../../db/client'
import type { Principal } from '../../db/queries/sessions'
import type { Bindings, Config } from '../config'
import type { ErrorCode } from '../core/errors'
import type { Logger } from '../core/log'
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
    /** Keeps the request's database open until `promise` settles (work after the response). */
    afterResponse: (promise: Promise<unknown>) => void
    /** Set by `requireAuth`. */
    auth: { claims: VerifiedAccess; principal: Principal }
    /** The results of an endpoint's `reads`, set by `requireAuth`; typed for the handler by `endpoint`. */
    reads: unknown
    /** CF-Ray, or a generated id; the `X-Request-Id` header of the response. */
    requestId: string
    /** Writes JSON lines carrying the request id. */
    log: Logger
    /** Who a sign-in just signed in (its response's user and organization), for the log. */
    subject: { userId: string; orgId: string }
    /** The endpoint's own statuses for some failures (its spec's `statuses`). */
    statuses: Partial<Record<ErrorCode, number>>
    /** Set when the response is an error: its code, and what only the log may see. */
    failure: { code: string; internal?: unknown; error?: Record<string, unknown> }
  }
}
