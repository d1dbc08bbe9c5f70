import { createApp } from './app'

// The Worker: `main` in wrangler.toml. A Worker, never a Pages project (see README).
export default createApp()

// For other Workers bound to this one by a service binding (docs/downstream.md).
export { GatehouseService } from './service/entrypoint'
