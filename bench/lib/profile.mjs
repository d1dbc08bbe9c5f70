import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import WebSocket from 'ws'
import { load } from './load.mjs'

/** A minimal Chrome DevTools Protocol client over the Worker's inspector socket. */
async function connectInspector(inspectorPort) {
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl)
  await new Promise((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
  })
  let id = 0
  const pending = new Map()
  const scripts = new Map()
  ws.on('message', (data) => {
    const message = JSON.parse(data)
    if (message.method === 'Debugger.scriptParsed') scripts.set(message.params.scriptId, message.params.url)
    const waiting = pending.get(message.id)
    if (!waiting) return
    pending.delete(message.id)
    if (message.error) waiting.reject(new Error(message.error.message))
    else waiting.resolve(message.result)
  })
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      pending.set(++id, { resolve, reject })
      ws.send(JSON.stringify({ id, method, params }))
    })
  return { send, scripts, close: () => ws.close() }
}

/**
 * esbuild's unminified bundle marks where each source file starts (`// node_modules/x/y.js`);
 * this maps a 0-based line of the bundle to the package or our own folder it came from.
 */
function moduleIndex(source) {
  const starts = []
  source.split('\n').forEach((line, i) => {
    const m = /^\/\/ (\S+\.(?:[cm]?js|ts))$/.exec(line)
    if (m) starts.push([i, m[1]])
  })
  return (line) => {
    let found = '(wrangler glue)'
    for (const [start, file] of starts) {
      if (start > line) break
      found = file
    }
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(found)
    return pkg ? pkg[1] : found.replace(/^(\.\.\/)+/, '').split('/').slice(0, 2).join('/')
  }
}

const pct = (part, whole) => `${((100 * part) / whole).toFixed(1)}%`

function summarize(profile, moduleOf, label) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map()
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  })
  const total = [...self.values()].reduce((a, b) => a + b, 0)
  const byFunction = new Map()
  const byModule = new Map()
  for (const [id, us] of self) {
    const { functionName, scriptId, lineNumber } = byId.get(id).callFrame
    const special = functionName.startsWith('(')
    const module = special ? functionName : moduleOf(scriptId, lineNumber)
    const fn = special ? functionName : `${functionName || '(anonymous)'} [${module}]`
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us)
    byModule.set(module, (byModule.get(module) ?? 0) + us)
  }
  const top = (map, n) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n)
  const idle = byModule.get('(idle)') ?? 0
  const busy = total - idle
  const lines = [
    `${label}: ${(total / 1e6).toFixed(1)} s profiled, isolate busy ${pct(busy, total)} (idle = waiting on I/O)`,
    '  busy time by module:',
    ...top(new Map([...byModule].filter(([m]) => m !== '(idle)')), 8).map(([m, us]) => `    ${pct(us, busy).padStart(6)}  ${m}`),
    '  busy time by function (self):',
    ...top(new Map([...byFunction].filter(([f]) => f !== '(idle)')), 10).map(([f, us]) => `    ${pct(us, busy).padStart(6)}  ${f}`),
  ]
  return { totalMs: total / 1000, busyMs: busy / 1000, byModule: Object.fromEntries(top(byModule, 20).map(([m, us]) => [m, us / 1000])), text: lines.join('\n') }
}

/**
 * A CPU profile of the Worker in workerd (its DevTools inspector, via wrangler dev's
 * --inspector-port) while the load generator runs each scenario; with `outDir`, each
 * profile is also saved as a .cpuprofile.
 */
export async function profileRequests(target, scenarios, settings, outDir) {
  const inspector = await connectInspector(target.worker.inspectorPort)
  try {
    await inspector.send('Debugger.enable')
    await inspector.send('Profiler.enable')
    await inspector.send('Profiler.setSamplingInterval', { interval: 200 })
    const indexes = new Map()
    const moduleOf = (scriptId, line) => {
      const url = inspector.scripts.get(scriptId) ?? ''
      if (url.startsWith('wasm://')) return 'WebAssembly (argon2)'
      if (url.startsWith('node-internal')) return 'workerd node: builtins'
      return indexes.get(scriptId)?.(line) ?? (url || 'workerd built-ins')
    }
    for (const [scriptId, url] of inspector.scripts) {
      if (!url.startsWith('file:')) continue
      const { scriptSource } = await inspector.send('Debugger.getScriptSource', { scriptId })
      indexes.set(scriptId, moduleIndex(scriptSource))
    }
    await inspector.send('Debugger.disable')
    await new Promise((resolve) => setTimeout(resolve, 1500))
    const results = {}
    for (const scenario of scenarios) {
      // Set up first (the refresh scenario logs in once per connection), then profile.
      const request = await target.scenarios[scenario](target.state, target.url, settings.connections)
      await new Promise((resolve) => setTimeout(resolve, 500))
      await inspector.send('Profiler.start')
      const run = await load(target.url, request, { connections: settings.connections, durationSeconds: settings.durationSeconds })
      const { profile } = await inspector.send('Profiler.stop')
      // Requests still queued in the isolate when the load stops must not land in the next profile.
      await new Promise((resolve) => setTimeout(resolve, 1500))
      results[scenario] = { ...summarize(profile, moduleOf, `${scenario} (${run.requestsPerSecond.toFixed(1)} req/s under the profiler)`) }
      if (outDir) {
        mkdirSync(outDir, { recursive: true })
        results[scenario].file = join(outDir, `${target.worker.name}-${scenario}.cpuprofile`)
        writeFileSync(results[scenario].file, JSON.stringify(profile))
      }
    }
    const files = Object.values(results).map((r) => r.file).filter(Boolean)
    const note = files.length ? `\n\nCPU profiles (open in Chrome DevTools → Performance, or VS Code):\n  ${files.join('\n  ')}` : ''
    return { ...results, summary: Object.values(results).map((r) => r.text).join('\n\n') + note }
  } finally {
    inspector.close()
  }
}

/**
 * The request path taken apart by endpoints that add one layer each: JWKS (routing,
 * middleware, config; no database), /health (plus opening a database connection and
 * `select 1`), /me (plus JWT verification and two queries). 1000 / (req/s) is what one
 * request costs the machine at that layer (workerd, relay and Postgres share the cores).
 */
export async function pathBreakdown(target, settings) {
  const layers = [
    ['GET /.well-known/jwks.json', 'routing + middleware, no database', { method: 'GET', path: '/.well-known/jwks.json' }],
    ['GET /health', '+ open a Postgres connection, select 1, close', { method: 'GET', path: '/health' }],
    ['GET /api/v1/auth/me', '+ verify the JWT, two queries', await target.scenarios.read(target.state)],
  ]
  const rows = []
  for (const [endpoint, adds, request] of layers) {
    const run = await load(target.url, request, { connections: settings.connections, durationSeconds: settings.durationSeconds })
    await new Promise((resolve) => setTimeout(resolve, 1000))
    rows.push({ endpoint, adds, requestsPerSecond: run.requestsPerSecond, msPerRequest: 1000 / run.requestsPerSecond, failed: run.failed })
  }
  const text = [
    'Gatehouse request path, layer by layer (ms per request = 1000 / req/s, the same connections):',
    ...rows.map((r) => `  ${r.endpoint.padEnd(28)} ${r.requestsPerSecond.toFixed(1).padStart(7)} req/s  ${r.msPerRequest.toFixed(2).padStart(6)} ms  ${r.adds}`),
  ].join('\n')
  return { rows, text }
}
