import { WorkerEntrypoint } from 'cloudflare:workers'
import type { VerifyResult } from '../../verify/src/index'
import { openRequestDatabase } from '../http/setup'
import type { Bindings } from '../config'
import { getConfig } from '../config'
import { verifyForService } from './verify'

interface FetchHandler {
  fetch(request: Request, env: Bindings, ctx: ExecutionContext): Response | Promise<Response>
}

/**
 * Gatehouse for other Workers, through a service binding (`services = [{ binding = "GATEHOUSE",
 * service = "gatehouse", entrypoint = "GatehouseService" }]`): no public network hop. The
 * binding's `fetch` is the whole HTTP API (the JWKS included), its `verify` the live check.
 */
export function gatehouseService(app: FetchHandler) {
  return class GatehouseService extends WorkerEntrypoint<Bindings> {
    override fetch(request: Request): Response | Promise<Response> {
      return app.fetch(request, this.env, this.ctx)
    }

    /**
     * The token's signature and claims, and its session checked live: a revoked session, a
     * deactivated account or a demoted role fail at once, as on Gatehouse's own routes.
     */
    async verify(token: string, scope?: string): Promise<VerifyResult> {
      const config = await getConfig(this.env)
      return verifyForService(openRequestDatabase(this.env), config, token, new Date(), scope)
    }
  }
}
