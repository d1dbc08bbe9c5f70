// `npm run dev`: the Worker in `wrangler dev` on http://127.0.0.1:8001 over a local database.
// Without DATABASE_URL that is PGlite persisted in .data/pglite; with it, that database
// (a local Postgres through scripts/relay.mjs, as in tests, or a Neon branch directly).
import { spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { ensureDevVars } from './dev-vars.mjs'
import { migrate } from './migrate.mjs'
import { startPglite } from './pglite-server.mjs'
import { startRelay } from './relay.mjs'

const PORT = 8001
const written = await ensureDevVars('.dev.vars')
if (written.length) console.log(`Generated ${written.join(', ')} in .dev.vars`)

let pglite
let url = process.env.DATABASE_URL
if (!url) {
  mkdirSync('.data', { recursive: true })
  console.log('Starting PGlite in .data/pglite (a few seconds)...')
  pglite = await startPglite({ dataDir: '.data/pglite' })
  url = pglite.url
}
const target = new URL(url)
// Neon speaks WebSocket (and TLS) itself; only a plain Postgres needs the local relay.
const neon = target.hostname.endsWith('.neon.tech')
const relay = neon
  ? undefined
  : await startRelay({ target: { host: target.hostname, port: Number(target.port || 5432) }, serialize: Boolean(pglite) })

let wrangler
let stopping
async function stop(code) {
  stopping ??= (async () => {
    if (wrangler && wrangler.exitCode === null) {
      wrangler.kill('SIGTERM')
      await new Promise((resolve) => wrangler.once('exit', resolve))
    }
    await relay?.close()
    // An open PGlite keeps the process alive, and closing it flushes .data/pglite.
    await pglite?.close()
    process.exit(code)
  })()
  return stopping
}
process.on('SIGINT', () => stop(0))
process.on('SIGTERM', () => stop(0))

try {
  await migrate({ url, wsProxy: relay?.wsProxy })
} catch (error) {
  console.error('Migrations failed:', error.message)
  await stop(1)
}

const where = pglite ? 'PGlite in .data/pglite' : `${target.hostname}${target.port ? `:${target.port}` : ''}${target.pathname}`
console.log(`Gatehouse API on http://127.0.0.1:${PORT} (docs: /docs), database: ${where}${relay ? ` via relay ${relay.wsProxy}` : ''}`)

// wrangler's own bin under node rather than `npx wrangler`: a signal then reaches wrangler
// itself, not an npm wrapper. --var NAME:VALUE (split at the first colon) wins over
// wrangler.toml and .dev.vars.
const vars = [`DATABASE_URL:${url}`, ...(relay ? [`DB_WS_PROXY:${relay.wsProxy}`] : [])]
wrangler = spawn(
  process.execPath,
  [
    'node_modules/wrangler/bin/wrangler.js',
    'dev',
    '--port',
    String(PORT),
    '--ip',
    '127.0.0.1',
    // GET /__scheduled runs the Cron Trigger's handler (retention); wrangler dev never fires crons itself.
    '--test-scheduled',
    ...vars.flatMap((v) => ['--var', v]),
  ],
  { stdio: 'inherit' },
)
wrangler.on('exit', (code) => stop(code ?? 0))

// The retention purge, as the Cron Trigger runs it in production: a minute after start, then hourly.
const runCron = () => fetch(`http://127.0.0.1:${PORT}/__scheduled?cron=23+*+*+*+*`).then((r) => r.text()).catch(() => {})
setTimeout(runCron, 60_000).unref()
setInterval(runCron, 3_600_000).unref()
