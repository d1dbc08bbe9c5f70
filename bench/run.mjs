// npm run bench: Gatehouse and a minimal Better Auth Worker side by side, on the same
// workerd (wrangler dev) and the same throwaway Postgres, driven by autocannon on loopback.
//   node bench/run.mjs [--duration 5] [--warmup 2] [--rounds 2] [--connections 10]
//                      [--only login,read] [--profile] [--db-rtt 50]
// --db-rtt MS: the relay then adds MS to every exchange with the database (per Postgres round
// trip on a WebSocket, per HTTP request to the SQL endpoint, once more per new connection),
// and each scenario is measured at one connection with and without it: round trips per
// request = (p50 with − p50 without) / MS, reported per scenario and target (`roundTrips`).
// Prints markdown tables and writes JSON to bench/results/ (git-ignored).
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { generateDevSecrets } from '../scripts/dev-vars.mjs'
import { hashCost } from './lib/hash.mjs'
import { load } from './lib/load.mjs'
import { PEER, startBetterAuth, startDatabases } from './lib/peer.mjs'
import { stopAll } from './lib/processes.mjs'
import { pathBreakdown, profileRequests } from './lib/profile.mjs'
import { printReport, saveReport } from './lib/report.mjs'
import { SCENARIOS, betterAuth, gatehouse } from './lib/scenarios.mjs'
import { bundleSize, startupTime } from './lib/sizes.mjs'
import { ROOT, startWorker } from './lib/workers.mjs'

const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '2' },
    connections: { type: 'string', default: '10' },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'db-rtt': { type: 'string' },
  },
})
const settings = {
  durationSeconds: Number(opts.duration),
  warmupSeconds: Number(opts.warmup),
  rounds: Number(opts.rounds),
  connections: Number(opts.connections),
}
const scenarios = opts.only ? opts.only.split(',') : SCENARIOS
const dbRttMs = opts['db-rtt'] === undefined ? undefined : Number(opts['db-rtt'])
if (dbRttMs !== undefined && !(dbRttMs > 0)) throw new Error('--db-rtt must be a positive number of milliseconds')

// Every bench request comes from 127.0.0.1, where real traffic comes from many addresses:
// Gatehouse's per-IP windows are raised out of reach (each request still runs the limiter's
// statements, so its cost is measured), as Better Auth's limiter is turned off in the peer.
const LIFTED = '1000000/60'
const LIFTED_IP_LIMITS = Object.fromEntries(
  ['LOGIN', 'REGISTER', 'OAUTH', 'REFRESH', 'TWO_FACTOR', 'PASSWORD_RESET'].map((name) => [`RATE_LIMIT_${name}_PER_IP`, LIFTED]),
)
const SETTLE_MS = 1000
const step = (text) => console.log(`• ${text}`)

function ensurePeerInstalled() {
  if (existsSync(join(PEER, 'node_modules/better-auth/package.json'))) return
  step('installing the Better Auth peer (npm ci in bench/peers/better-auth)')
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: PEER, stdio: 'inherit' })
}

async function main() {
  ensurePeerInstalled()

  // Measured before any server runs, so nothing else competes for the two cores.
  step('bundle sizes and startup (wrangler deploy --dry-run, as configured; wrangler check startup)')
  const bundle = { [gatehouse.label]: await bundleSize(ROOT), [betterAuth.label]: await bundleSize(PEER) }
  const startup = { [gatehouse.label]: await startupTime(ROOT), [betterAuth.label]: await startupTime(PEER) }

  step('Postgres: a throwaway cluster on 127.0.0.1')
  const { pg, relay } = await startDatabases()
  const { wsProxy } = relay

  step('wrangler dev: Gatehouse, Better Auth, and the hash-timing Worker')
  const secrets = await generateDevSecrets()
  const [ours, theirs, hasher] = await Promise.all([
    startWorker({
      name: 'gatehouse',
      dir: ROOT,
      // wrangler.toml says production, which has no default issuer and needs an https APP_URL:
      // the bench names its own (it mails nothing).
      vars: (url) => ({ ...secrets, ...LIFTED_IP_LIMITS, DATABASE_URL: pg.url('gatehouse'), DB_WS_PROXY: wsProxy, JWT_ISSUER: url, APP_URL: 'https://bench.gatehouse.invalid' }),
    }),
    startBetterAuth(pg, wsProxy),
    startWorker({ name: 'gatehouse-hash', dir: join(ROOT, 'bench/hash-worker') }),
  ])
  const targets = [
    { ...gatehouse, url: ours.url, worker: ours, database: 'gatehouse' },
    { ...betterAuth, url: theirs.url, worker: theirs, database: 'better_auth' },
  ]
  for (const t of targets) t.state = await t.prepare(t.url)

  step('password hashing inside workerd')
  const passwordHash = {
    [gatehouse.label]: { ms: await hashCost(`${hasher.url}/verify`), algorithm: 'argon2id m=19 MiB, t=2, p=1 (@phi-ag/argon2, wasm)' },
    [betterAuth.label]: { ms: await hashCost(`${theirs.url}/bench/hash`), algorithm: 'scrypt N=16384, r=16, p=1 (node:crypto in workerd)' },
  }

  const results = {}
  for (const scenario of scenarios) {
    // A scenario a target has no endpoint for (sessions, org-members: Gatehouse only) runs on the others.
    const here = targets.filter((t) => t.scenarios[scenario])
    step(`${scenario}: warm-up, then ${settings.rounds} rounds of ${here.map((_, i) => 'AB'[i]).join(' ')}`)
    const rounds = Object.fromEntries(here.map((t) => [t.label, []]))
    const once = async (t, durationSeconds) => {
      const sessionsBefore = pg.sessions(t.database)
      const result = await load(t.url, await t.scenarios[scenario](t.state, t.url, settings.connections), { connections: settings.connections, durationSeconds })
      // The isolate finishes requests still queued when the load stops (a second of slow
      // logins): let them drain so they do not eat into the next run.
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
      result.databaseConnections = pg.sessions(t.database) - sessionsBefore
      return result
    }
    for (const t of here) await once(t, settings.warmupSeconds)
    for (let round = 0; round < settings.rounds; round++) {
      for (const t of here) rounds[t.label].push(await once(t, settings.durationSeconds))
    }
    results[scenario] = Object.fromEntries(here.map((t) => [t.label, summarize(rounds[t.label], t.endpoints[scenario])]))
    if (here.length === 2) results[scenario].ratio = results[scenario][here[0].label].requestsPerSecond / results[scenario][here[1].label].requestsPerSecond
    console.log(`  ${here.map((t) => `${t.label} ${results[scenario][t.label].requestsPerSecond.toFixed(1)} req/s`).join(', ')}`)
  }

  if (dbRttMs !== undefined) {
    for (const scenario of scenarios) {
      const here = targets.filter((t) => t.scenarios[scenario])
      step(`${scenario}: one connection, the database ${dbRttMs} ms away and on loopback`)
      results[scenario].roundTrips = {}
      for (const t of here) {
        const p50 = async () => {
          const request = await t.scenarios[scenario](t.state, t.url, 1)
          // A second of warm-up first: connections the Worker keeps are opened, as in production.
          await load(t.url, request, { connections: 1, durationSeconds: 1 })
          const run = await load(t.url, await t.scenarios[scenario](t.state, t.url, 1), { connections: 1, durationSeconds: settings.durationSeconds })
          if (run.failed) throw new Error(`${scenario} / ${t.label}: ${run.failed} failed (${run.failure})`)
          return run.p50
        }
        const loopback = await p50()
        await relay.setDelay(dbRttMs)
        let delayed
        try {
          delayed = await p50()
        } finally {
          await relay.setDelay(0)
        }
        results[scenario].roundTrips[t.label] = { p50: loopback, p50Delayed: delayed, dbRttMs, roundTrips: (delayed - loopback) / dbRttMs }
        console.log(`  ${t.label}: p50 ${loopback} ms → ${delayed} ms: ${((delayed - loopback) / dbRttMs).toFixed(2)} round trips`)
      }
    }
  }

  const report = {
    date: new Date().toISOString(),
    machine: { cpus: availableParallelism(), node: process.version, postgres: pg.version },
    settings: { ...settings, dbRttMs },
    targets: targets.map((t) => t.label),
    scenarios: results,
    passwordHash,
    bundle,
    startup,
    devReadyMs: Object.fromEntries(targets.map((t) => [t.label, t.worker.readyMs])),
  }
  if (opts.profile) {
    step('profiling Gatehouse in workerd: the path layer by layer, then login, read and refresh')
    report.breakdown = await pathBreakdown(targets[0], settings)
    report.profile = await profileRequests(targets[0], ['login', 'read', 'refresh'], settings, join(ROOT, 'bench/results', `profile-${report.date.replace(/[:.]/g, '-')}`))
  }
  printReport(report)
  if (report.breakdown) console.log(`${report.breakdown.text}\n`)
  if (report.profile) console.log(report.profile.summary)
  console.log(`JSON: ${saveReport(report, join(ROOT, 'bench/results'))}`)
}

/** Mean over rounds: A B A B spreads drift (thermal, other load) over both sides. */
function summarize(rounds, endpoint) {
  const mean = (key) => rounds.reduce((sum, r) => sum + r[key], 0) / rounds.length
  return {
    endpoint,
    requestsPerSecond: mean('requestsPerSecond'),
    p50: mean('p50'),
    p99: mean('p99'),
    ok: rounds.reduce((sum, r) => sum + r.ok, 0),
    // Connections opened per answered request: 0 means the endpoint never touched the database.
    databaseConnectionsPerRequest: rounds.reduce((sum, r) => sum + r.databaseConnections, 0) / rounds.reduce((sum, r) => sum + r.ok + r.failed, 0),
    failed: rounds.reduce((sum, r) => sum + r.failed, 0),
    failure: rounds.find((r) => r.failure)?.failure,
    rounds,
  }
}

try {
  await main()
} catch (error) {
  console.error(`\nbench failed: ${error.stack ?? error}`)
  process.exitCode = 1
} finally {
  await stopAll()
}

// The downstream scenarios (gatehouse/verify, examples/downstream): a process of their own, with workers of their own.
if (!opts.only && !process.exitCode) execFileSync(process.execPath, [join(ROOT, 'bench/downstream.mjs'), ...process.argv.slice(2)], { stdio: 'inherit' })
