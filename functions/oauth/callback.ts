import * as z from 'zod/mini'
import { PROVIDER_NAMES } from '../core/oauth'
import { oauthLogin } from '../core/oauth/login'
import { endpoint } from '../http/endpoint'
import { loginBody, services, tokenResponse } from '../http/respond'
import { loginResult, twoFactorChallenge } from '../http/schemas'

const bounded = (max: number) => z.string().check(z.minLength(1, 'is required'), z.maxLength(max, `must be at most ${max} characters`))

// POST /api/v1/auth/oauth/callback
export const oauthCallback = endpoint(
  {
    summary: 'Log in with Google, Facebook or Microsoft (Outlook)',
    description:
      'Redeems the authorization code from the provider’s redirect. `redirect_uri` must be exactly one of the configured ' +
      'OAUTH_REDIRECT_URIS and the one used in the authorization request. A new identity creates a user and an ' +
      'organization (`is_new_user: true`); a provider-verified email links to an existing verified account. ' +
      'A provider that is not configured answers 422 `provider_not_configured`; a provider that cannot be reached, 503 or 502. ' +
      'When the user has 2FA on, the answer is a challenge (`requires_2fa`) to complete at /api/v1/auth/2fa/verify.',
    auth: false,
    body: z.object({
      provider: z.enum(PROVIDER_NAMES),
      code: bounded(4096),
      redirect_uri: bounded(2048),
      // RFC 7636 §4.1: 43 to 128 unreserved characters.
      code_verifier: z.optional(z.string().check(z.regex(/^[A-Za-z0-9\-._~]{43,128}$/, 'must be 43 to 128 characters of [A-Za-z0-9-._~]'))),
      nonce: z.optional(bounded(512)),
    }),
    responses: {
      200: {
        description: 'Tokens, or a 2FA challenge',
        schema: z.union([z.extend(loginResult, { is_new_user: z.boolean() }), twoFactorChallenge]),
      },
    },
  },
  async (c) => {
    const input = c.req.valid('json')
    const outcome = await oauthLogin(services(c), input.provider, {
      code: input.code,
      redirectUri: input.redirect_uri,
      codeVerifier: input.code_verifier,
      nonce: input.nonce,
    })
    if (outcome.kind === 'two_factor') return tokenResponse(c, { requires_2fa: true, session_token: outcome.sessionToken })
    return tokenResponse(c, { ...loginBody(outcome.account, outcome.tokens), is_new_user: outcome.isNewUser })
  },
)
