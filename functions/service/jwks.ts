import * as z from 'zod/mini'
import { endpoint } from '../http/endpoint'

// GET /.well-known/jwks.json: served from configuration, no database.
export const jwks = endpoint(
  {
    summary: 'Public keys that verify access tokens (RS256)',
    description: 'Old keys stay listed until their tokens expire; a next key can be listed before it signs.',
    auth: false,
    responses: { 200: { description: 'A JWK Set (RFC 7517)', schema: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }) } },
  },
  (c) => c.json(c.var.config.keys.jwks, 200, { 'Cache-Control': 'public, max-age=300' }),
)
