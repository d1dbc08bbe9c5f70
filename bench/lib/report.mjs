import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const fixed = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–')
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`

function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)))
  const line = (r) => `| ${r.map((cell, i) => (i === 0 ? String(cell).padEnd(widths[i]) : String(cell).padStart(widths[i]))).join(' | ')} |`
  const rule = `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`
  return [line(rows[0]), rule, ...rows.slice(1).map(line)].join('\n')
}

/** The stdout report: markdown tables, so they paste as they are. */
export function printReport(report) {
  const [a, b] = report.targets
  const rows = [['scenario', `${a} req/s`, 'p50 ms', 'p99 ms', 'db conn/req', `${b} req/s`, 'p50 ms', 'p99 ms', 'db conn/req', 'ours/theirs']]
  const none = { requestsPerSecond: NaN, p50: NaN, p99: NaN, databaseConnectionsPerRequest: NaN }
  for (const [name, s] of Object.entries(report.scenarios)) {
    const [x, y] = [s[a] ?? none, s[b] ?? none]
    rows.push([
      name,
      fixed(x.requestsPerSecond), fixed(x.p50, 0), fixed(x.p99, 0), fixed(x.databaseConnectionsPerRequest, 2),
      fixed(y.requestsPerSecond), fixed(y.p50, 0), fixed(y.p99, 0), fixed(y.databaseConnectionsPerRequest, 2),
      s.ratio === undefined ? '–' : `${fixed(s.ratio, 2)}×`,
    ])
  }
  console.log(`\n${table(rows)}\n`)
  const ms = report.settings.dbRttMs
  if (ms !== undefined) {
    const trips = [['scenario', `${a} p50 ms`, `+${ms} ms`, 'round trips', `${b} p50 ms`, `+${ms} ms`, 'round trips', `p50 ours/theirs at +${ms}`]]
    for (const [name, s] of Object.entries(report.scenarios)) {
      const [x, y] = [s.roundTrips?.[a], s.roundTrips?.[b]]
      const cells = (r) => (r ? [fixed(r.p50, 0), fixed(r.p50Delayed, 0), fixed(r.roundTrips, 2)] : ['–', '–', '–'])
      trips.push([name, ...cells(x), ...cells(y), x && y ? fixed(x.p50Delayed / y.p50Delayed, 2) : '–'])
    }
    console.log(`Database round trips per request, one connection (p50 with ${ms} ms added per exchange − p50 on loopback) / ${ms}:\n\n${table(trips)}\n`)
  }
  const failures = Object.entries(report.scenarios).flatMap(([name, s]) =>
    report.targets.filter((t) => s[t]?.failed > 0).map((t) => `${name} / ${t}: ${s[t].failed} failed (${s[t].failure})`))
  if (failures.length) console.log(`Failed requests (not counted in req/s):\n  ${failures.join('\n  ')}\n`)

  const h = report.passwordHash
  const extra = [
    ['', a, b],
    ['password hash (workerd, ms/op)', `${fixed(h[a].ms, 1)}`, `${fixed(h[b].ms, 1)}`],
    ['password algorithm', h[a].algorithm, h[b].algorithm],
    ['bundle (minified, gzip)', kib(report.bundle[a].gzip), kib(report.bundle[b].gzip)],
    ['bundle (minified, raw)', kib(report.bundle[a].bytes), kib(report.bundle[b].bytes)],
    ['startup CPU (wrangler check startup)', `${fixed(report.startup[a].cpuMs)} ms`, `${fixed(report.startup[b].cpuMs)} ms`],
    ['wrangler dev ready (spawn → first answer)', `${fixed(report.devReadyMs[a] / 1000, 1)} s`, `${fixed(report.devReadyMs[b] / 1000, 1)} s`],
  ]
  console.log(`${table(extra)}\n`)
  const ratio = (name) => report.scenarios[name]?.ratio
  const bundleRatio = report.bundle[a].gzip / report.bundle[b].gzip
  const targets = [
    ['authenticated read ≥ 2× req/s', ratio('read'), (r) => r >= 2, (r) => `${fixed(r, 2)}×`],
    ['login ≥ 2.5× req/s (hashing as stated above)', ratio('login'), (r) => r >= 2.5, (r) => `${fixed(r, 2)}×`],
    ['bundle ≤ ⅓ of theirs (gzip)', bundleRatio, (r) => r <= 1 / 3, (r) => fixed(r, 2)],
  ].filter(([, value]) => value !== undefined)
  console.log('Targets (measured, not asserted):')
  for (const [name, value, met, show] of targets) console.log(`  ${met(value) ? 'met    ' : 'NOT met'}  ${name}: ${show(value)}`)
  const jwks = report.scenarios.jwks?.[a]
  if (jwks) console.log(`  ${jwks.databaseConnectionsPerRequest === 0 ? 'met    ' : 'NOT met'}  JWKS touches no database: ${fixed(jwks.databaseConnectionsPerRequest, 2)} connections per request`)
  console.log('')
  console.log(`bundle ours/theirs: ${fixed(report.bundle[a].gzip / report.bundle[b].gzip, 2)}; ${report.settings.rounds} rounds of ${report.settings.durationSeconds} s per target and scenario (A B A B), ${report.settings.connections} connections, ${report.settings.warmupSeconds} s warm-up; ${report.machine.cpus} cores, ${report.machine.postgres}.`)
}

export function saveReport(report, dir) {
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `bench-${report.date.replace(/[:.]/g, '-')}.json`)
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`)
  return file
}
