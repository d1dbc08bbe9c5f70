import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createHash, createHmac, randomUUID } from 'node:crypto'
import { OAuth2Server } from 'oauth2-mock-server'
import { afterAll, beforeAll } from 'vitest'

// Real OAuth servers for the OAuth tests, each listening on 127.0.0.1 only and stopped by
// the test file that started it.

export const CLIENT = { id: 'gatehouse-test-client', secret: 'test-client-secret-do-not-log' }

export type Claims = Record<string, unknown>

/**
 * An OpenID Connect provider (oauth2-mock-server, its own RS256 JWKS) that behaves like a
 * real one where the tests need it: it refuses unknown and reused codes, and the ID token
 * of each code carries the identity chosen when the code was issued.
 */
export async function startOidcProvider() {
  const server = new OAuth2Server()
  await server.issuer.keys.generate('RS256')
  await server.start(0, '127.0.0.1')
  const url = server.issuer.url!
  const identities = new Map<string, { claims: Claims; tamper?: boolean; fail?: number }>()
  const spent = new Set<string>()
  /** Every token request the provider received: its form parameters. */
  const tokenRequests: Record<string, string>[] = []
  /** Every token the provider handed out, to prove none leaks. */
  const issued: string[] = []

  server.service.on('beforeTokenSigning', (token: { payload: Claims }, req: { body: Record<string, string> }) => {
    const entry = identities.get(req.body.code!)
    // The ID token is the one with an audience; the access token gets the identity too, harmlessly.
    if (entry && token.payload.aud !== undefined) Object.assign(token.payload, entry.claims)
  })
  server.service.on('beforeResponse', (response: { statusCode: number; body: Record<string, unknown> }, req: { body: Record<string, string> }) => {
    const code = req.body.code!
    tokenRequests.push({ ...req.body })
    const entry = identities.get(code)
    if (!entry || spent.has(code)) {
      // RFC 6749 §5.2: an unknown, expired or already redeemed code.
      response.statusCode = 400
      response.body = { error: 'invalid_grant', error_description: 'The authorization code is invalid or was already used.' }
      return
    }
    if (entry.fail) {
      response.statusCode = entry.fail
      response.body = { error: 'server_error' }
      return
    }
    spent.add(code)
    if (entry.tamper) {
      // The access token's signature: made by the provider's own key, but over other bytes.
      const [header, payload] = String(response.body.id_token).split('.')
      response.body.id_token = `${header}.${payload}.${String(response.body.access_token).split('.')[2]}`
    }
    issued.push(String(response.body.access_token), String(response.body.id_token), String(response.body.refresh_token))
  })

  return {
    url,
    server,
    tokenRequests,
    issued,
    /**
     * Runs the authorization endpoint as a browser would and returns the code it redirected
     * with. `claims` go into that code's ID token (sub, email, email_verified, name, or
     * overrides of aud, iss, exp to make it invalid).
     */
    async authorize(
      claims: Claims,
      options: { redirectUri: string; nonce?: string; codeChallenge?: string; tamperSignature?: boolean; failWith?: number },
    ) {
      const query = new URLSearchParams({ response_type: 'code', client_id: CLIENT.id, redirect_uri: options.redirectUri, scope: 'openid email profile' })
      if (options.nonce) query.set('nonce', options.nonce)
      if (options.codeChallenge) {
        query.set('code_challenge', options.codeChallenge)
        query.set('code_challenge_method', 'S256')
      }
      const res = await fetch(`${url}/authorize?${query}`, { redirect: 'manual' })
      const location = new URL(res.headers.get('location')!)
      const code = location.searchParams.get('code')!
      identities.set(code, { claims, tamper: options.tamperSignature, fail: options.failWith })
      return code
    },
    stop: () => server.stop(),
  }
}

export type OidcProvider = Awaited<ReturnType<typeof startOidcProvider>>

/** RFC 7636 §4.2: S256 code challenge of a verifier. */
export const codeChallenge = (verifier: string) => createHash('sha256').update(verifier).digest('base64url')

export interface GraphUser {
  id: string
  name?: string
  email?: string
}

/**
 * Facebook's part, as small as the flow needs: POST /oauth/access_token redeems a code
 * once (client id, secret and redirect URI checked), GET /me answers the user for a token,
 * demanding the appsecret_proof Facebook demands when "Require App Secret" is on.
 */
export async function startGraphServer() {
  const codes = new Map<string, { user: GraphUser; redirectUri: string }>()
  const tokens = new Map<string, GraphUser>()
  const requests: { path: string; params: Record<string, string> }[] = []
  const issued: string[] = []
  let failMe: number | undefined

  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url!, 'http://127.0.0.1')
    let body = ''
    for await (const chunk of req) body += chunk
    const params = Object.fromEntries(new URLSearchParams(body))
    requests.push({ path: url.pathname, params })
    const send = (status: number, json: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify(json))
    }
    if (req.method === 'POST' && url.pathname === '/oauth/access_token') {
      const entry = codes.get(params.code ?? '')
      if (params.client_id !== CLIENT.id || params.client_secret !== CLIENT.secret)
        return send(400, { error: { message: 'Error validating client secret.', type: 'OAuthException', code: 1 } })
      if (!entry || entry.redirectUri !== params.redirect_uri)
        return send(400, { error: { message: 'This authorization code has been used.', type: 'OAuthException', code: 100 } })
      codes.delete(params.code!)
      const accessToken = `EAAG${randomUUID().replace(/-/g, '')}`
      tokens.set(accessToken, entry.user)
      issued.push(accessToken)
      return send(200, { access_token: accessToken, token_type: 'bearer', expires_in: 5183944 })
    }
    if (req.method === 'GET' && url.pathname === '/me') {
      if (failMe) return send(failMe, { error: { message: 'An unexpected error has occurred.', type: 'OAuthException', code: 2 } })
      const token = req.headers.authorization?.replace(/^Bearer /, '') ?? ''
      const user = tokens.get(token)
      const proof = createHmac('sha256', CLIENT.secret).update(token).digest('hex')
      if (!user || url.searchParams.get('appsecret_proof') !== proof)
        return send(400, { error: { message: 'Invalid OAuth access token.', type: 'OAuthException', code: 190 } })
      const fields = (url.searchParams.get('fields') ?? 'id,name').split(',')
      return send(200, Object.fromEntries(fields.filter((f) => f in user).map((f) => [f, user[f as keyof GraphUser]])))
    }
    send(404, { error: { message: 'Unknown path', type: 'OAuthException' } })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url,
    requests,
    issued,
    /** What Facebook's dialog would redirect with after `user` consents. */
    issueCode(user: GraphUser, redirectUri: string) {
      const code = `AQ${randomUUID()}`
      codes.set(code, { user, redirectUri })
      return code
    },
    failMeWith(status: number | undefined) {
      failMe = status
    },
    stop: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  }
}

/** A port on 127.0.0.1 where nothing listens: a provider that is down. */
export async function closedPort(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}

/** A provider that accepts connections and never answers: a timeout. */
export async function startSilentServer() {
  const pending: ServerResponse[] = []
  const server = createServer((_req, res) => void pending.push(res))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const res of pending) res.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Every provider configured against local servers: `idp` plays Google and Microsoft, `graph` Facebook. */
export function providerEnv(idp: OidcProvider, graph: { url: string }, redirectUris: string[]) {
  return {
    OAUTH_REDIRECT_URIS: JSON.stringify(redirectUris),
    GOOGLE_CLIENT_ID: CLIENT.id,
    GOOGLE_CLIENT_SECRET: CLIENT.secret,
    GOOGLE_TOKEN_URL: `${idp.url}/token`,
    GOOGLE_JWKS_URL: `${idp.url}/jwks`,
    GOOGLE_ISSUER: idp.url,
    FACEBOOK_CLIENT_ID: CLIENT.id,
    FACEBOOK_CLIENT_SECRET: CLIENT.secret,
    FACEBOOK_TOKEN_URL: `${graph.url}/oauth/access_token`,
    FACEBOOK_USERINFO_URL: `${graph.url}/me`,
    OUTLOOK_CLIENT_ID: CLIENT.id,
    OUTLOOK_CLIENT_SECRET: CLIENT.secret,
    OUTLOOK_TOKEN_URL: `${idp.url}/token`,
    OUTLOOK_JWKS_URL: `${idp.url}/jwks`,
    OUTLOOK_ISSUER: `${idp.url}/{tenantid}/v2.0`,
  }
}

/** Both servers for the test file that calls it: started before its tests, stopped after. */
export function useOAuthServers() {
  const servers = {} as { idp: OidcProvider; graph: Awaited<ReturnType<typeof startGraphServer>> }
  beforeAll(async () => {
    servers.idp = await startOidcProvider()
    servers.graph = await startGraphServer()
  })
  afterAll(async () => {
    await servers.idp?.stop()
    await servers.graph?.stop()
  })
  return servers
}
