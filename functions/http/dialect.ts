import { Hono } from 'hono'
import type { MiddlewareHandler } from 'hono'
import { cors } from './browser'
import type { Route } from './endpoint'
import type { AppEnv } from './env'
import { errorHandler, noRoute } from './errors'
import type { FailureBody } from './errors'

/** A wire format of the API: where it is mounted, its error body, and how the OpenAPI document shows it. */
export interface Dialect {
  /** Where the dialect is mounted: its routes' paths are relative to it. */
  base: string
  failure: FailureBody
  doc: {
    /** Its error body, a shared component of the document. */
    error: { name: string; mediaType: string; schema: object }
    /** Its success body around an endpoint's own schema (default: the schema itself). */
    success?: (schema: object) => object
    tag: (path: string) => string
  }
}

/**
 * A dialect as a Hono sub-app, mounted at `dialect.base`: the request's set-up, CORS for its
 * routes, its routes (then `more`), its own `onError`, and a last route that answers
 * anything else under its base as an unknown route, in its own body. Hono keeps a sub-app's
 * error handler through `app.route()`, so a failure anywhere in here, the set-up included,
 * is answered in this dialect.
 */
export function dialectApp(
  dialect: Dialect,
  routes: readonly Route[],
  setup: MiddlewareHandler<AppEnv>,
  more: (app: Hono<AppEnv>) => void = () => {},
): Hono<AppEnv> {
  const app = new Hono<AppEnv>()
  app.use(setup)
  // Preflights are answered before the handlers, which would open the database.
  app.use(cors(dialect.base, routes))
  for (const [method, path, endpoint] of routes) app.on(method.toUpperCase(), [path], ...endpoint.handlers)
  more(app)
  app.all('*', (c) => {
    throw noRoute(c)
  })
  app.onError(errorHandler(dialect.failure))
  return app
}
