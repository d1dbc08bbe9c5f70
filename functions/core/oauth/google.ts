import type { OAuthBindings, OAuthProvider } from '.'
import { clientCredentials, exchangeCode, stringClaim, verifyIdToken } from './oidc'

// https://developers.google.com/identity/openid-connect/openid-connect
export const GOOGLE_DEFAULTS = {
  tokenUrl: 'https://oauth2.googleapis.com/token',
  jwksUrl: 'https://www.googleapis.com/oauth2/v3/certs',
  // Google documents both spellings of its issuer as valid.
  issuers: ['https://accounts.google.com', 'accounts.google.com'],
}

/** Google: OpenID Connect; the identity is the ID token's `sub`. */
export function google(env: OAuthBindings): OAuthProvider | undefined {
  const client = clientCredentials('GOOGLE', env.GOOGLE_CLIENT_ID, env.GOOGLE_CLIENT_SECRET)
  if (!client) return undefined
  const tokenUrl = env.GOOGLE_TOKEN_URL || GOOGLE_DEFAULTS.tokenUrl
  const jwksUrl = env.GOOGLE_JWKS_URL || GOOGLE_DEFAULTS.jwksUrl
  const issuer = env.GOOGLE_ISSUER ? [env.GOOGLE_ISSUER] : GOOGLE_DEFAULTS.issuers
  return {
    name: 'google',
    async identify(call, grant) {
      const tokens = await exchangeCode('google', call, tokenUrl, client, grant)
      const claims = await verifyIdToken('google', call, tokens.id_token, { jwksUrl, issuer, audience: client.clientId, nonce: grant.nonce })
      return {
        subject: claims.sub!,
        email: stringClaim(claims.email),
        // Older Google tokens carried the string "true".
        emailVerified: claims.email_verified === true || claims.email_verified === 'true',
        name: stringClaim(claims.name),
      }
    },
  }
}
