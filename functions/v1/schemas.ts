import * as z from 'zod/mini'

export const v1LoginResult = z.object({
  token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number(),
  refresh_token: z.string(),
  user: z.object({ id: z.uuid(), name: z.string(), email: z.string() }),
})
