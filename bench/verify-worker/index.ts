// A Worker that runs gatehouse/verify inside workerd (real Web Crypto, real Cache API) against a
// JWKS it serves itself and counts; the bench times it beside a bare jose jwtVerify.
import { importJWK, jwtVerify } from 'jose'
import type { JWK } from 'jose'
import { clearJwksCache, createVerifier } from '../../verify/src/index'
import type { VerifyResult } from '../../verify/src/index'

let jwks: { keys: JWK[] } = { keys: [] }
let fetches = 0
const gatehouse = {
  async fetch() {
    fetches++
    return Response.json(jwks, { headers: { 'Cache-Control': 'public, max-age=300' } })
  },
}

interface VerifyRequest {
  issuer: string
  tokens: string[]
  /** How many times each token is verified. */
  times?: number
  concurrent?: boolean
  /** The verifier's clock (ms); the wall clock when absent. */
  now?: number
  /** Drop this isolate's keys first (a cold isolate in a colo whose Cache API is warm). */
  coldIsolate?: boolean
}

const tally = (results: VerifyResult[]) => {
  const counts: Record<string, number> = {}
  for (const r of results) counts[r.ok ? 'ok' : r.error] = (counts[r.ok ? 'ok' : r.error] ?? 0) + 1
  return counts
}

let baseline: { token: string; key: CryptoKey; issuer: string } | undefined

export default {
  async fetch(request: Request): Promise<Response> {
    const { pathname, searchParams } = new URL(request.url)
    if (pathname === '/jwks') {
      jwks = await request.json()
      return Response.json({ fetches })
    }
    if (pathname === '/verify') {
      const body: VerifyRequest = await request.json()
      if (body.coldIsolate) clearJwksCache()
      const before = fetches
      const verifier = createVerifier({ issuer: body.issuer, jwks: gatehouse, now: body.now === undefined ? undefined : () => body.now! })
      const results: VerifyResult[] = []
      for (let i = 0; i < (body.times ?? 1); i++) {
        if (body.concurrent) results.push(...(await Promise.all(body.tokens.map((t) => verifier.verify(t)))))
        else for (const t of body.tokens) results.push(await verifier.verify(t))
      }
      return Response.json({ fetches: fetches - before, results: tally(results) })
    }
    // The bench: n verifications of one token per request, by gatehouse/verify or by jose alone.
    if (pathname === '/bench/verify' || pathname === '/bench/jose') {
      const n = Number(searchParams.get('n') ?? 1000)
      const token = searchParams.get('token')!
      const issuer = searchParams.get('issuer')!
      if (pathname === '/bench/verify') {
        const verifier = createVerifier({ issuer, jwks: gatehouse })
        for (let i = 0; i < n; i++) if (!(await verifier.verify(token)).ok) return new Response('refused', { status: 500 })
      } else {
        if (baseline?.token !== token) {
          const jwk = jwks.keys[0]!
          baseline = { token, issuer, key: (await importJWK(jwk, jwk.alg)) as CryptoKey }
        }
        for (let i = 0; i < n; i++) await jwtVerify(token, baseline.key, { algorithms: ['RS256'], issuer, typ: 'at+jwt' })
      }
      return new Response('ok')
    }
    return new Response('not found', { status: 404 })
  },
}
