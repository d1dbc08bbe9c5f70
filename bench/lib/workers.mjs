import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { atExit, freePort, start, waitFor } from './processes.mjs'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** The root's wrangler, for every Worker: one wrangler, one workerd, for both sides. */
export const WRANGLER = join(ROOT, 'node_modules/wrangler/bin/wrangler.js')

export const wranglerEnv = { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1', FORCE_COLOR: '0' }

/**
 * `wrangler dev` (workerd) for the Worker in `dir`, on 127.0.0.1, vars by `--var` (no
 * .dev.vars; `vars` may be a function of the Worker's URL), its local state in a temp dir.
 * Resolves once it answers HTTP.
 */
export async function startWorker({ name, dir, vars = {} }) {
  const port = await freePort()
  const inspectorPort = await freePort()
  const url = `http://127.0.0.1:${port}`
  const state = mkdtempSync(join(tmpdir(), `gatehouse-bench-${name}-`))
  atExit(() => rmSync(state, { recursive: true, force: true }))
  const args = [
    WRANGLER, 'dev',
    '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspectorPort),
    '--persist-to', state, '--show-interactive-dev-session=false', '--log-level', 'warn',
    ...Object.entries(typeof vars === 'function' ? vars(url) : vars).flatMap(([key, value]) => ['--var', `${key}:${value}`]),
  ]
  const started = performance.now()
  const entry = start(name, process.execPath, args, { cwd: dir, env: wranglerEnv })
  await waitFor(`${name} (wrangler dev) on ${url}`, async () => (await fetch(`${url}/`)).status > 0, { entry, timeoutMs: 120_000 })
  return { name, url, inspectorPort, readyMs: performance.now() - started, entry }
}
