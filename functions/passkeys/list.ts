import * as z from 'zod/mini'
import { passkeyListReads, passkeyView } from '../core/passkeys'
import { endpoint } from '../http/endpoint'
import { passkeyResult } from './schemas'

// GET /api/v1/auth/passkeys
export const listPasskeysEndpoint = endpoint(
  {
    summary: 'The caller’s passkeys, newest first',
    auth: 'profile:read',
    // With the session check, in its round trip.
    reads: passkeyListReads,
    responses: { 200: { description: 'Passkeys', schema: z.object({ passkeys: z.array(passkeyResult) }) } },
  },
  (c, [passkeys]) => c.json({ passkeys: passkeys.map(passkeyView) }),
)
