import type { OAuthBindings, OAuthProvider } from '.'
import { clientCredentials, exchangeCode, invalidIdToken, stringClaim, verifyIdToken } from './oidc'

// https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference
const MICROSOFT = 'https://login.microsoftonline.com'
export const OUTLOOK_DEFAULTS = {
  tokenUrl: (tenant: string) => `${MICROSOFT}/${tenant}/oauth2/v2.0/token`,
  jwksUrl: (tenant: string) => `${MICROSOFT}/${tenant}/discovery/v2.0/keys`,
  issuer: `${MICROSOFT}/{tenantid}/v2.0`,
}

// These "tenants" admit users of many tenants: the issuer is then the user's own tenant's.
const MULTI_TENANT = new Set(['common', 'organizations', 'consumers'])
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * Microsoft identity platform (Outlook, Microsoft 365, personal accounts). The identity is
 * the tenant and object id (`tid:oid`): `email` and `preferred_username` are mutable and,
 * in many tenants, set by whoever administers the tenant.
 */
export function outlook(env: OAuthBindings): OAuthProvider | undefined {
  const client = clientCredentials('OUTLOOK', env.OUTLOOK_CLIENT_ID, env.OUTLOOK_CLIENT_SECRET)
  if (!client) return undefined
  const tenant = env.OUTLOOK_TENANT || 'common'
  if (!MULTI_TENANT.has(tenant) && !GUID.test(tenant)) throw new Error('OUTLOOK_TENANT must be a tenant id, common, organizations or consumers')
  const tokenUrl = env.OUTLOOK_TOKEN_URL || OUTLOOK_DEFAULTS.tokenUrl(tenant)
  const jwksUrl = env.OUTLOOK_JWKS_URL || OUTLOOK_DEFAULTS.jwksUrl(tenant)
  const issuerTemplate = env.OUTLOOK_ISSUER || OUTLOOK_DEFAULTS.issuer
  return {
    name: 'outlook',
    async identify(call, grant) {
      const tokens = await exchangeCode('outlook', call, tokenUrl, client, grant, { scope: 'openid email profile' })
      const claims = await verifyIdToken('outlook', call, tokens.id_token, {
        jwksUrl,
        audience: client.clientId,
        nonce: grant.nonce,
        // A single-tenant app demands its own tenant; a multi-tenant one, the token's tenant,
        // so an `iss` naming another tenant than `tid` fails.
        issuer: (claims) => {
          const tid = MULTI_TENANT.has(tenant) ? claims.tid : tenant
          return typeof tid === 'string' && GUID.test(tid) ? issuerTemplate.replace('{tenantid}', tid) : undefined
        },
      })
      const tid = claims.tid
      const oid = claims.oid
      if (typeof tid !== 'string' || typeof oid !== 'string' || !oid) throw invalidIdToken('outlook', 'no tid or oid')
      const email = stringClaim(claims.email)
      return {
        subject: `${tid}:${oid}`,
        // preferred_username (often the UPN) only as a contact address for a new account.
        email: email ?? emailLike(claims.preferred_username),
        // Microsoft does not verify `email` in general; it vouches only through the optional
        // claims email_verified / xms_edov (the email's domain is verified by its tenant).
        emailVerified: email !== null && (claims.email_verified === true || claims.xms_edov === true),
        name: stringClaim(claims.name),
      }
    },
  }
}

const emailLike = (value: unknown) => {
  const text = stringClaim(value)
  return text && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(text) ? text : null
}
