import * as z from 'zod/mini'
import { PROVIDER_NAMES } from '../core/oauth'
import { oauthLogin } from '../core/oauth/login'
import { endpoint } from '../http/endpoint'
import { loginBody, services, tokenResponse } from '../http/respond'
import { anyPassword, loginResult, twoFactorChallenge } from '../http/schemas'

const bounded = (max: number) => z.string().check(z.minLength(1, 'is required'), z.maxLength(max, `must be at most ${max} characters`))

// POST /api/v1/auth/oauth/callback
export const oauthCallback = endpoint(
  {
    summary: 'Log in with Google, Facebook or Microsoft (Outlook)',
    description:
      'Redeems the authorization code from the provider’s redirect. `redirect_uri` must be exactly one of the configured ' +
      'OAUTH_REDIRECT_URIS and the one used in the authorization request. A new identity creates a user and an ' +
      'organization (`is_new_user: true`); a provider-verified email links to an existing verified account, and, when ' +
      'that account has a password, only with it in `password` (409 `link_requires_password` without it, 401 ' +
      '`invalid_credentials` when wrong). An email the provider does not vouch for is the new account’s contact address ' +
      'only: it holds the address once verified through the mailed link. With OAUTH_REQUIRE_PKCE on, `code_verifier` ' +
      'is required (422 without it). ' +
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
      // Linking into an account that has a password needs the password.
      password: z.optional(anyPassword),
    }),
    responses: {
      200: {
        description: 'Tokens, or a 2FA challenge',
        schema: z.union([z.extend(loginResult, { is_new_user: z.boolean() }), twoFactorChallenge]),
      },
      409: { description: '`link_requires_password`: the account with this email has a password; send it to link' },
      429: { description: 'Too many callbacks from this IP (Retry-After)' },
    },
  },
  async (c) => {
    const input = c.req.valid('json')
    const outcome = await oauthLogin(
      services(c),
      input.provider,
      { code: input.code, redirectUri: input.redirect_uri, codeVerifier: input.code_verifier, nonce: input.nonce },
      { password: input.password },
    )
    if (outcome.kind === 'two_factor') return tokenResponse(c, { requires_2fa: true, session_token: outcome.sessionToken })
    return tokenResponse(c, { ...loginBody(outcome.account, outcome.tokens), is_new_user: outcome.isNewUser })
  },
)
