import type { Context, MiddlewareHandler } from 'hono'
import type { Route } from './endpoint'
import type { AppEnv } from './env'
import { REQUEST_ID_HEADER } from './observe'

/** How long a browser may reuse a preflight's answer; Chromium caps it at 7200 s anyway. */
export const PREFLIGHT_MAX_AGE_SECONDS = 7200

// Response headers a page may read beyond the CORS-safelisted ones: how long to back off
// after a 429, and the id to quote when reporting a failure.
const EXPOSED = `Retry-After, ${REQUEST_ID_HEADER}`

// An API answer is data, never a document: no sniffing it into HTML, no framing, no referrer
// leaking a URL with a token to a third party. /docs sends its own, looser policy.
const API_POLICY = "default-src 'none'; frame-ancestors 'none'"

function set(c: Context, headers: Record<string, string>) {
  for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value)
}

/**
 * Headers on every response: `nosniff`, `no-referrer`, a CSP that forbids rendering or
 * framing, and `Cache-Control: no-store` unless the endpoint chose its own caching (JWKS):
 * anything else may carry a token or a user's data.
 */
export const securityHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next()
  set(c, { 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' })
  if (!c.res.headers.has('Content-Security-Policy')) c.res.headers.set('Content-Security-Policy', API_POLICY)
  if (!c.res.headers.has('Cache-Control')) c.res.headers.set('Cache-Control', 'no-store')
}

interface Allowed {
  pattern: RegExp
  method: string
  headers: string[]
}

/**
 * Cross-origin access for the origins in `CORS_ORIGINS` only (default: none). A preflight
 * (OPTIONS with Access-Control-Request-Method) from such an origin, to a path of the route
 * table (`base` + each route's path), is answered here, before the database is opened, with the methods that path has
 * and the headers its routes read (Authorization when authenticated, Content-Type for a JSON
 * body). Credentials (cookies) are never allowed: the API takes bearer tokens, which a page
 * sends itself. Anything else goes on as before: a disallowed origin's preflight is the 404
 * it always was, and its response carries no Access-Control-Allow-Origin, so the browser
 * keeps it from the page.
 */
export function cors(base: string, routes: readonly Route[]): MiddlewareHandler<AppEnv> {
  const table: Allowed[] = routes.map(([method, path, { spec }]) => ({
    pattern: new RegExp(`^${(base + path).replace(/[.]/g, '\\.').replace(/:\w+/g, '[^/]+')}$`),
    method: method.toUpperCase(),
    headers: [...(spec.auth !== false ? ['Authorization'] : []), ...(spec.body ? ['Content-Type'] : [])],
  }))
  return async (c, next) => {
    const allowed = c.var.config.corsOrigins
    if (allowed.length === 0) return next()
    const origin = c.req.header('Origin')
    const permitted = origin !== undefined && allowed.includes(origin)
    if (permitted && c.req.method === 'OPTIONS' && c.req.header('Access-Control-Request-Method')) {
      const matching = table.filter((route) => route.pattern.test(c.req.path))
      if (matching.length)
        return c.body(null, 204, {
          'Access-Control-Allow-Origin': origin,
          'Access-Control-Allow-Methods': [...new Set(matching.map((r) => r.method))].join(', '),
          'Access-Control-Allow-Headers': [...new Set(matching.flatMap((r) => r.headers))].join(', ') || 'Content-Type',
          'Access-Control-Max-Age': String(PREFLIGHT_MAX_AGE_SECONDS),
          Vary: 'Origin',
        })
    }
    await next()
    // A cache between us and browsers must not hand one origin's answer to another.
    c.res.headers.append('Vary', 'Origin')
    if (permitted) set(c, { 'Access-Control-Allow-Origin': origin, 'Access-Control-Expose-Headers': EXPOSED })
  }
}
