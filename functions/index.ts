import { createApp } from './app'
import type { Bindings } from './config'
import { createScheduled } from './scheduled'
import { gatehouseService } from './service/entrypoint'

// The Worker: `main` in wrangler.toml. A Worker, never a Pages project (see README).
const app = createApp()
export default { fetch: app.fetch, scheduled: createScheduled() } satisfies ExportedHandler<Bindings>

// For other Workers bound to this one by a service binding (docs/downstream.md).
export const GatehouseService = gatehouseService(app)
