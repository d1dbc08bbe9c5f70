import { Hono } from 'hono'
import type { MiddlewareHandler } from 'hono'
import { isOutboxReadable } from './config'
import { consoleSink } from './core/log'
import { devMail } from './dev/mail'
import { securityHeaders } from './http/browser'
import { dialectApp } from './http/dialect'
import type { AppEnv } from './http/env'
import { errorHandler, noRoute } from './http/errors'
import { observe } from './http/observe'
import { authApi, problemDetails } from './http/problem'
import { requestSetup } from './http/setup'
import type { AppDependencies } from './http/setup'
import { apiRoutes, sections, serviceRoutes } from './routes'
import { DOCS_POLICY, docsPage } from './service/docs'
import { openApiDocument } from './service/openapi'
import { v1 } from './v1/dialect'
import { v1Routes } from './v1/routes'

export type { AppDependencies } from './http/setup'

/**
 * The Worker's HTTP app: the id and log line and the security headers of every response,
 * then each dialect as its own sub-app (routes.ts, v1/routes.ts), each with its own onError.
 */
export function createApp(deps: AppDependencies = {}) {
  const setup = requestSetup(deps)
  const app = new Hono<AppEnv>()
  app.use(observe(deps.log ?? consoleSink))
  app.use(securityHeaders)
  // /v1 first: its last route answers every other /v1 path, so the root's never sees one.
  app.route(v1.base, dialectApp(v1, v1Routes, setup))
  app.route('/', dialectApp(authApi, [...apiRoutes, ...serviceRoutes], setup, documentsAndTools))
  // Only what fails outside both dialects (the log line, the headers) reaches the root's handler.
  app.onError(errorHandler(problemDetails))
  return app
}

/** The auth API dialect's routes outside the route table: the document, its page, and the dev outbox. */
function documentsAndTools(api: Hono<AppEnv>) {
  // Development tools: answered as an unknown route anywhere else, and absent from /openapi.json.
  // The outbox is also read in a preview, whose reviewers need the mails it keeps. The
  // environment alone is not enough: it can be left on a reachable deployment, and /dev/mail
  // holds every reset and invitation link (a Worker cannot see the peer address, so
  // "loopback only" is not a check it can make): DEV_MAIL=on too (config.devMail).
  const outboxReadable: MiddlewareHandler<AppEnv> = async (c, next) => {
    if (!isOutboxReadable(c.var.config.environment) || !c.var.config.devMail) throw noRoute(c)
    await next()
  }
  api.get('/dev/mail', outboxReadable, ...devMail.handlers)

  let document: ReturnType<typeof openApiDocument> | undefined
  // `servers` names the origin the document was fetched from: the deployment describes itself.
  api.get('/openapi.json', (c) => c.json({ ...(document ??= openApiDocument(sections)), servers: [{ url: new URL(c.req.url).origin }] }))
  api.get('/docs', (c) => c.html(docsPage, 200, { 'Content-Security-Policy': DOCS_POLICY }))
}
