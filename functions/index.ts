import { createApp } from './app'
import { gatehouseService } from './service/entrypoint'

const app = createApp()

// The Worker: `main` in wrangler.toml. A Worker, never a Pages project (see README).
export default app

// For other Workers bound to this one by a service binding (docs/downstream.md).
export const GatehouseService = gatehouseService(app)
