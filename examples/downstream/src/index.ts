import { env } from 'cloudflare:workers'
import { Hono } from 'hono'
import type { Context } from 'hono'
import { gatehouse } from 'gatehouse/verify/hono'
import type { GatehouseService, GatehouseVariables } from 'gatehouse/verify/hono'

interface Env {
  GATEHOUSE: Fetcher & GatehouseService
  GATEHOUSE_ISSUER: string
}

const { GATEHOUSE, GATEHOUSE_ISSUER } = env as unknown as Env
type AppEnv = { Bindings: Env; Variables: GatehouseVariables }
const app = new Hono<AppEnv>()

// Local verification: the signature is checked here, against the JWKS fetched once through
// the binding. Zero round trips per request; a revoked session passes until its token expires.
const local = (options: { scope?: string; dialect?: 'problem' | 'v1' } = {}) => gatehouse({ issuer: GATEHOUSE_ISSUER, jwks: GATEHOUSE, ...options })
// Live verification: one RPC to Gatehouse, which also checks the session, the account and the
// role as they are now. A revoked session fails at once.
const live = (options: { scope?: string; dialect?: 'problem' | 'v1' } = {}) => gatehouse({ issuer: GATEHOUSE_ISSUER, rpc: GATEHOUSE, ...options })

const hello = (c: Context<AppEnv>) => c.json({ user: c.var.gatehouse.sub, organization: c.var.gatehouse.org })
const people = (c: Context<AppEnv>) => c.json({ success: true, data: [] })

app.get('/local/hello', local(), hello)
app.get('/live/hello', live(), hello)
// The /v1 dialect's bodies, for clients written against it.
app.get('/local/people', local({ scope: 'members:read', dialect: 'v1' }), people)
app.get('/live/people', live({ scope: 'members:read', dialect: 'v1' }), people)

export default app
