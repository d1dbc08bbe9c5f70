import { expect } from 'vitest'

// The success bodies of sign-ins, as the contract fixes them (spec/API.md): a test names the
// user it expects, the tokens are fresh strings.

/** The auth API's sign-in answer (login, register, 2FA verify, OAuth, invitation accept, refresh). */
export const signedIn = (fields: Record<string, unknown>) => ({
  access_token: expect.any(String),
  token_type: 'bearer',
  expires_in: 86400,
  refresh_token: expect.any(String),
  ...fields,
})

/** The /v1 dialect's sign-in answer, in its envelope. */
export const v1SignedIn = (user: { id: unknown; name: unknown; email: unknown }) => ({
  success: true,
  data: { token: expect.any(String), token_type: 'Bearer', expires_in: 86400, refresh_token: expect.any(String), user },
})
