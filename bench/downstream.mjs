// npm run bench:downstream: what a downstream API pays to check a token.
//  1. gatehouse/verify on a warm isolate beside a bare jose jwtVerify, both in workerd
//     (bench/verify-worker), in µs per verification.
//  2. A request to examples/downstream (local verify; RPC to Gatehouse over a service binding)
//     beside Better Auth's nearest equivalent (a Worker verifying its jwt plugin's JWT with jose
//     against its JWKS), driven by autocannon on loopback.
//   node bench/downstream.mjs [--duration 5] [--rounds 2] [--connections 10] [--iterations 2000]
// `npm run bench` runs it after bench/run.mjs (not with --only).
import { mkdtempSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { generateDevSecrets } from '../scripts/dev-vars.mjs'
import { load } from './lib/load.mjs'
import { startBetterAuth, startDatabases } from './lib/peer.mjs'
import { atExit, stopAll } from './lib/processes.mjs'
import { saveReport } from './lib/report.mjs'
import { betterAuth, gatehouse } from './lib/scenarios.mjs'
import { ROOT, startWorker, wranglerEnv } from './lib/workers.mjs'

// The downstream finds Gatehouse through wrangler's dev registry: a private one, so no other
// `wrangler dev` on this machine named "gatehouse" can answer its binding.
const registry = mkdtempSync(join(tmpdir(), 'gatehouse-bench-registry-'))
wranglerEnv.WRANGLER_REGISTRY_PATH = registry
atExit(() => rmSync(registry, { recursive: true, force: true }))

// Not strict: `npm run bench` runs this file after bench/run.mjs, with run.mjs's options.
const { values: opts } = parseArgs({
  strict: false,
  options: {
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '2' },
    connections: { type: 'string', default: '10' },
    iterations: { type: 'string', default: '2000' },
  },
})
const settings = {
  durationSeconds: Number(opts.duration),
  warmupSeconds: Number(opts.warmup),
  rounds: Number(opts.rounds),
  connections: Number(opts.connections),
  iterations: Number(opts.iterations),
}
const ISSUER = 'https://gatehouse.bench'
const step = (text) => console.log(`• ${text}`)
const fixed = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–')

/**
 * µs per verification of each path: n verifications in one request, minus the same request
 * with n=0; the paths alternate (A B A B) so drift and other load fall on both alike.
 */
async function verifyCosts(url, paths, token, iterations, rounds) {
  const timed = async (path, n) => {
    const started = performance.now()
    const res = await fetch(`${url}${path}?n=${n}&issuer=${encodeURIComponent(ISSUER)}&token=${token}`)
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
    await res.text()
    return performance.now() - started
  }
  for (const path of Object.values(paths)) await timed(path, iterations) // warm: JIT, the JWKS, the imported key
  const samples = Object.fromEntries(Object.keys(paths).map((label) => [label, []]))
  for (let r = 0; r < rounds; r++)
    for (const [label, path] of Object.entries(paths)) samples[label].push(((await timed(path, iterations)) - (await timed(path, 0))) / iterations)
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] * 1000
  return Object.fromEntries(Object.entries(samples).map(([label, xs]) => [label, median(xs)]))
}

async function main() {
  step('Postgres, relay and migrations')
  // relay.wsProxy is the host:port; the relay object itself is no DB_WS_PROXY.
  const { pg, relay } = await startDatabases()
  const { wsProxy } = relay

  step('wrangler dev: Gatehouse, examples/downstream, Better Auth and its downstream, the verify Worker')
  const secrets = await generateDevSecrets()
  const lifted = Object.fromEntries(['LOGIN', 'REGISTER', 'REFRESH'].map((n) => [`RATE_LIMIT_${n}_PER_IP`, '1000000/60']))
  const [ours, theirs, verifyWorker] = await Promise.all([
    startWorker({
      name: 'gatehouse',
      dir: ROOT,
      vars: { ...secrets, ...lifted, JWT_ISSUER: ISSUER, APP_URL: 'https://bench.gatehouse.invalid', DATABASE_URL: pg.url('gatehouse'), DB_WS_PROXY: wsProxy },
    }),
    startBetterAuth(pg, wsProxy),
    startWorker({ name: 'verify-bench', dir: join(ROOT, 'bench/verify-worker') }),
  ])
  const [downstream, theirDownstream] = await Promise.all([
    startWorker({ name: 'downstream', dir: join(ROOT, 'examples/downstream'), vars: { GATEHOUSE_ISSUER: ISSUER } }),
    startWorker({ name: 'better-auth-downstream', dir: join(ROOT, 'bench/peers/better-auth-downstream'), vars: { BETTER_AUTH_URL: theirs.url } }),
  ])

  step('tokens: a Gatehouse access token, a Better Auth jwt-plugin JWT')
  const ourState = await gatehouse.prepare(ours.url)
  const theirState = await betterAuth.prepare(theirs.url)
  const theirToken = (await (await fetch(`${theirs.url}/api/auth/token`, { headers: { cookie: theirState.cookie, ...theirState.origin } })).json()).token
  if (!theirToken) throw new Error('Better Auth /api/auth/token gave no JWT')

  step(`verify vs bare jose in workerd (${settings.iterations} verifications per request)`)
  const jwks = await (await fetch(`${ours.url}/.well-known/jwks.json`)).text()
  await fetch(`${verifyWorker.url}/jwks`, { method: 'POST', body: jwks })
  const micro = await verifyCosts(
    verifyWorker.url,
    { 'gatehouse/verify': '/bench/verify', 'jose jwtVerify': '/bench/jose' },
    ourState.accessToken,
    settings.iterations,
    9,
  )
  micro.ratio = micro['gatehouse/verify'] / micro['jose jwtVerify']

  const targets = [
    { label: 'Gatehouse, local verify', url: downstream.url, path: '/local/hello', token: ourState.accessToken },
    { label: 'Gatehouse, RPC (live session)', url: downstream.url, path: '/live/hello', token: ourState.accessToken },
    { label: 'Better Auth, jose + its JWKS', url: theirDownstream.url, path: '/', token: theirToken },
  ]
  const results = {}
  step(`downstream requests: warm-up, then ${settings.rounds} rounds of each`)
  for (const t of targets)
    await load(
      t.url,
      { method: 'GET', path: t.path, headers: { authorization: `Bearer ${t.token}` } },
      { ...settings, durationSeconds: settings.warmupSeconds },
    )
  for (let round = 0; round < settings.rounds; round++) {
    for (const t of targets) {
      const r = await load(t.url, { method: 'GET', path: t.path, headers: { authorization: `Bearer ${t.token}` } }, settings)
      ;(results[t.label] ??= []).push(r)
    }
  }
  const summary = Object.fromEntries(
    Object.entries(results).map(([label, rounds]) => {
      const mean = (key) => rounds.reduce((s, r) => s + r[key], 0) / rounds.length
      return [
        label,
        {
          requestsPerSecond: mean('requestsPerSecond'),
          p50: mean('p50'),
          p99: mean('p99'),
          failed: rounds.reduce((s, r) => s + r.failed, 0),
          failure: rounds.find((r) => r.failure)?.failure,
        },
      ]
    }),
  )

  console.log('\n| verification in workerd (warm isolate, RS256) | µs per token |')
  console.log('|---|--:|')
  console.log(`| gatehouse/verify | ${fixed(micro['gatehouse/verify'])} |`)
  console.log(`| jose jwtVerify (bare, key imported once) | ${fixed(micro['jose jwtVerify'])} |`)
  console.log(`\nverify / jose: ${fixed(micro.ratio, 3)} (goal ≤ 1.10: ${micro.ratio <= 1.1 ? 'met' : 'NOT met'})\n`)
  console.log('| downstream request | req/s | p50 ms | p99 ms | failed |')
  console.log('|---|--:|--:|--:|--:|')
  for (const [label, s] of Object.entries(summary))
    console.log(`| ${label} | ${fixed(s.requestsPerSecond)} | ${fixed(s.p50)} | ${fixed(s.p99)} | ${s.failed} |`)
  for (const [label, s] of Object.entries(summary)) if (s.failure) console.log(`  ${label}: first failure ${s.failure}`)
  console.log(
    `\n${settings.rounds} rounds of ${settings.durationSeconds} s, ${settings.connections} connections; ${availableParallelism()} cores, ${pg.version}.`,
  )
  const report = { date: new Date().toISOString(), kind: 'downstream', settings, verifyMicroseconds: micro, downstream: summary }
  console.log(`JSON: ${saveReport(report, join(ROOT, 'bench/results'))}`)
}

try {
  await main()
} catch (error) {
  console.error(`\nbench failed: ${error.stack ?? error}`)
  process.exitCode = 1
} finally {
  await stopAll()
}
