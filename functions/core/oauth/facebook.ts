import type { OAuthBindings, OAuthProvider } from '.'
import { badGateway, callProvider, clientCredentials, exchangeCode, stringClaim } from './oidc'

// https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow
const GRAPH = 'https://graph.facebook.com/v23.0'
export const FACEBOOK_DEFAULTS = {
  tokenUrl: `${GRAPH}/oauth/access_token`,
  userinfoUrl: `${GRAPH}/me`,
}

/**
 * Facebook Login: plain OAuth 2.0, no ID token; the identity is the Graph API's `/me` id
 * (app-scoped). Graph gives no verification flag for `email`, so a Facebook email is
 * never taken as proof of owning it: it can start a new account, never enter an existing one.
 */
export function facebook(env: OAuthBindings): OAuthProvider | undefined {
  const client = clientCredentials('FACEBOOK', env.FACEBOOK_CLIENT_ID, env.FACEBOOK_CLIENT_SECRET)
  if (!client) return undefined
  const tokenUrl = env.FACEBOOK_TOKEN_URL || FACEBOOK_DEFAULTS.tokenUrl
  const userinfoUrl = env.FACEBOOK_USERINFO_URL || FACEBOOK_DEFAULTS.userinfoUrl
  return {
    name: 'facebook',
    async identify(call, grant) {
      const tokens = await exchangeCode('facebook', call, tokenUrl, client, grant)
      const accessToken = tokens.access_token
      if (typeof accessToken !== 'string' || !accessToken) throw badGateway('facebook', { provider: 'facebook', reason: 'no access_token' })
      const url = new URL(userinfoUrl)
      url.searchParams.set('fields', 'id,name,email')
      // Graph's "Require App Secret" setting: proves the call comes from the app's server.
      url.searchParams.set('appsecret_proof', await hmacSha256Hex(client.clientSecret, accessToken))
      const { status, body } = await callProvider('facebook', call, url.href, { headers: { Authorization: `Bearer ${accessToken}` } })
      // The token was issued a moment ago: Graph refusing it is the provider's failure, not the caller's.
      if (status !== 200 || !body) throw badGateway('facebook', { provider: 'facebook', status, reason: 'graph /me' })
      const id = typeof body.id === 'string' && body.id ? body.id : undefined
      if (!id) throw badGateway('facebook', { provider: 'facebook', reason: 'graph /me without id' })
      return { subject: id, email: stringClaim(body.email), emailVerified: false, name: stringClaim(body.name) }
    },
  }
}

async function hmacSha256Hex(secret: string, message: string): Promise<string> {
  const encoder = new TextEncoder()
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(message)))
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join('')
}
