import { createApp } from './app'

// The Worker: `main` in wrangler.toml. A Worker, never a Pages project (see README).
export default createApp()
