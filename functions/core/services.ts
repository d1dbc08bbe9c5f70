import type Argon2 from '@phi-ag/argon2'
import type { RequestDatabase } from '../../db/client'
import type { Config } from '../config'
import type { Logger } from './log'
import type { ClientInfo } from './sessions'

/** What a domain flow may use: nothing from HTTP, everything injectable in tests. */
export interface Services {
  /** One statement is one round trip; `db.batch([...])` is several in one (db/client.ts). */
  db: RequestDatabase
  config: Config
  now: Date
  argon2: () => Promise<Argon2>
  fetch: typeof fetch
  client: ClientInfo
  /** The request's logger: JSON lines carrying its id. */
  log: Logger
  /** Work that may finish after the response (a Worker's `ctx.waitUntil`); absent outside a Worker, where it is awaited. */
  waitUntil?: (promise: Promise<unknown>) => void
}
