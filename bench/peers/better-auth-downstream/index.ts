import { createRemoteJWKSet, jwtVerify } from 'jose'

interface Env {
  BETTER_AUTH_URL: string
}

let jwks: ReturnType<typeof createRemoteJWKSet> | undefined

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    jwks ??= createRemoteJWKSet(new URL('/api/auth/jwks', env.BETTER_AUTH_URL))
    const token = /^Bearer (.+)$/i.exec(request.headers.get('Authorization') ?? '')?.[1]
    if (!token) return new Response('unauthenticated', { status: 401 })
    try {
      // The jwt plugin's defaults: issuer and audience are the app's base URL.
      const { payload } = await jwtVerify(token, jwks, { issuer: env.BETTER_AUTH_URL, audience: env.BETTER_AUTH_URL })
      return Response.json({ user: payload.sub })
    } catch {
      return new Response('unauthenticated', { status: 401 })
    }
  },
}
