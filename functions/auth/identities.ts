import * as z from 'zod/mini'
import { PROVIDER_NAMES } from '../core/oauth'
import { notFound } from '../core/errors'
import { linkedIdentities, unlink, unlinkReads } from '../core/identities'
import { bodyOf } from '../http/body'
import { endpoint } from '../http/endpoint'
import { services } from '../http/respond'
import { anyPassword } from '../http/schemas'
import { WRONG_PROOF_IS_A_FIELD } from '../http/statuses'

const identity = z.object({ provider: z.enum(PROVIDER_NAMES), email: z.nullable(z.string()), linked_at: z.iso.datetime() })

// GET /api/v1/auth/identities
export const listIdentitiesEndpoint = endpoint(
  {
    summary: 'The sign-in providers linked to the caller’s account',
    description: '`email` is the address the provider gave when it was linked.',
    auth: 'profile:read',
    responses: { 200: { description: 'Linked identities, oldest first', schema: z.array(identity) } },
  },
  async (c) => {
    const rows = await linkedIdentities(services(c), c.var.auth.principal.userId)
    return c.json(
      rows.map((row) => ({ provider: row.provider, email: row.email, linked_at: row.createdAt.toISOString() })),
      200,
      { 'Cache-Control': 'no-store' },
    )
  },
)

const isProvider = (name: string | undefined) => (PROVIDER_NAMES as readonly string[]).includes(name ?? '')

// DELETE /api/v1/auth/identities/:provider
export const unlinkIdentityEndpoint = endpoint(
  {
    summary: 'Unlink a sign-in provider from the caller’s account',
    description:
      'That provider no longer signs into this account. 409 `last_sign_in_method` when it is the only way left to sign ' +
      'in (no password, no other provider); 404 when it is not linked. With TWO_FACTOR_REAUTH_SECONDS set, a session ' +
      'older than that needs `password` in the body (403 `reauthentication_required` otherwise).',
    auth: 'profile:write',
    // An old sign-in's password attempt (for a body and a provider this endpoint acts on), with the session check.
    reads: (db, caller, c) => unlinkReads({ db, config: c.var.config, now: c.var.now() }, caller, isProvider(c.req.param('provider')) ? bodyOf(c) : undefined),
    readsBody: true,
    statuses: WRONG_PROOF_IS_A_FIELD,
    body: z.object({ password: z.optional(anyPassword) }),
    bodyOptional: true,
    responses: {
      204: { description: 'Unlinked' },
      404: { description: 'The provider is not linked to this account' },
      409: { description: '`last_sign_in_method`' },
    },
  },
  async (c, reads) => {
    const provider = c.req.param('provider') ?? ''
    if (!isProvider(provider)) throw notFound('Identity')
    await unlink(services(c), c.var.auth.principal, provider, c.req.valid('json').password, reads)
    return c.body(null, 204)
  },
)
