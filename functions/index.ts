import { createApp } from './app'
import type { Bindings } from './config'
import { createScheduled } from './scheduled'

// The Worker: `main` in wrangler.toml. A Worker, never a Pages project (see README).
const app = createApp()
export default { fetch: app.fetch, scheduled: createScheduled() } satisfies ExportedHandler<Bindings>
