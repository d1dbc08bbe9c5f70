import { openDatabase } from '../db/client'
import type { RequestDatabase } from '../db/client'
import type { Bindings } from './config'
import { getConfig } from './config'
import { purgeExpired } from './core/retention'

export interface ScheduledDependencies {
  openDatabase?: (env: Bindings) => RequestDatabase
  now?: () => Date
}

/**
 * The Cron Trigger (wrangler.toml `[triggers]`): purges expired and spent rows; a failure is
 * logged and retried at the next run.
 */
export function createScheduled(deps: ScheduledDependencies = {}): ExportedHandlerScheduledHandler<Bindings> {
  const open = deps.openDatabase ?? ((env: Bindings) => openDatabase({ url: env.DATABASE_URL, localRelay: env.DB_WS_PROXY }))
  return async (controller, env) => {
    const config = await getConfig(env)
    const now = deps.now?.() ?? new Date(controller.scheduledTime)
    // Over HTTP: nothing to open or close (db/client.ts).
    const deleted = await purgeExpired(open(env), config.retention, now, config.rateLimits.lockout.hardLimit)
    console.log('retention purge', JSON.stringify(deleted))
  }
}
