import type { BatchResponse } from 'drizzle-orm/batch'
import type * as z from 'zod/mini'
import type { CallerReads } from '../core/sessions'
import { endpoint } from '../http/endpoint'
import type { Endpoint, EndpointSpec } from '../http/endpoint'
import { NO_STORE } from '../http/respond'
import { ok } from './envelope'

type HandlerContext<B extends z.ZodMiniType | undefined> = Parameters<Parameters<typeof endpoint<B>>[1]>[0]

/**
 * One endpoint in both dialects, from one spec and one body: the auth API answers the body
 * as it is, /v1 wraps it in its envelope. Errors already differ by path (http/errors.ts).
 */
export function inBothDialects<B extends z.ZodMiniType | undefined = undefined, R extends CallerReads = CallerReads>(
  spec: EndpointSpec<B, R>,
  body: (c: HandlerContext<B>, reads: BatchResponse<R>) => Promise<object>,
): { api: Endpoint; v1: Endpoint } {
  return {
    api: endpoint(spec, async (c, reads) => c.json(await body(c, reads), 200, NO_STORE)),
    v1: endpoint({ ...spec, summary: `${spec.summary} (the /v1 dialect)` }, async (c, reads) => ok(c, await body(c, reads))),
  }
}
