// `npm run dev [-- --port N]`: the Worker in `wrangler dev` on http://127.0.0.1:8001 (or PORT,
// or --port) over a local database. Without DATABASE_URL that is PGlite persisted in
// .data/pglite; with it, that database (a local Postgres through scripts/relay.mjs, as in
// tests, or a Neon branch directly).
import { spawn } from 'node:child_process'
import { mkdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { devPort, devRateLimits, STRICT_SETTING } from './dev-options.mjs'
import { ensureDevVars, parseDevVars } from './dev-vars.mjs'
import { buildDocsAssets } from './docs-assets.mjs'
import { migrate } from './migrate.mjs'
import { startPglite } from './pglite-server.mjs'
import { startRelay } from './relay.mjs'

let PORT
try {
  PORT = devPort(process.argv.slice(2), process.env)
} catch (error) {
  console.error(error.message)
  process.exit(1)
}
// wrangler would move to another port or stop later; say it now, with the way out.
await new Promise((resolve) => {
  const probe = createServer()
  probe.once('error', () => {
    console.error(`Port ${PORT} on 127.0.0.1 is in use. Choose another: PORT=8002 npm run dev, or npm run dev -- --port 8002`)
    process.exit(1)
  })
  probe.listen(PORT, '127.0.0.1', () => probe.close(resolve))
})

const written = await ensureDevVars('.dev.vars')
if (written.length) console.log(`Generated ${written.join(', ')} in .dev.vars`)
buildDocsAssets()
// Relaxed per-IP windows go to the Worker as --var; the switch back is read from .dev.vars or the environment.
const strict = process.env[STRICT_SETTING]
const limits = devRateLimits({ ...parseDevVars(readFileSync('.dev.vars', 'utf8')), ...(strict !== undefined && { [STRICT_SETTING]: strict }) })

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
if (Object.keys(limits).length)
  console.log(`Per-IP rate limits are relaxed for development (per-account locks stay); ${STRICT_SETTING}=1 in .dev.vars restores production's.`)

// wrangler's own bin under node rather than `npx wrangler`: a signal then reaches wrangler
// itself, not an npm wrapper. --var NAME:VALUE (split at the first colon) wins over
// wrangler.toml and .dev.vars.
const vars = [
  `DATABASE_URL:${url}`,
  ...(relay ? [`DB_WS_PROXY:${relay.wsProxy}`] : []),
  ...Object.entries(limits).map(([name, value]) => `${name}:${value}`),
]
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
