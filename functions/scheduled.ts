import { openDatabase } from '../db/client'
import type { DatabaseHandle } from '../db/client'
import type { Bindings } from './config'
import { getConfig } from './config'
import { purgeExpired } from './core/retention'

export interface ScheduledDependencies {
  openDatabase?: (env: Bindings) => DatabaseHandle
  now?: () => Date
}

/**
 * The Cron Trigger (wrangler.toml `[triggers]`): purges expired and spent rows. Its own
 * connection, closed when the purge ends; a failure is logged and retried at the next run.
 */
export function createScheduled(deps: ScheduledDependencies = {}): ExportedHandlerScheduledHandler<Bindings> {
  const open = deps.openDatabase ?? ((env: Bindings) => openDatabase({ url: env.DATABASE_URL, wsProxy: env.DB_WS_PROXY }))
  return async (controller, env) => {
    const config = await getConfig(env)
    const now = deps.now?.() ?? new Date(controller.scheduledTime)
    const { db, close } = open(env)
    try {
      const deleted = await purgeExpired(db, config.retention, now, config.rateLimits.lockout.hardLimit)
      console.log('retention purge', JSON.stringify(deleted))
    } finally {
      await close().catch(() => {})
    }
  }
}
