import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import { WRANGLER, wranglerEnv } from './workers.mjs'

const run = promisify(execFile)

/**
 * What `wrangler deploy` uploads: `wrangler deploy --dry-run --outdir` with the Worker's own
 * configuration (its `minify`; no flag that deploy would not pass), every module, raw and
 * gzipped (JS and .wasm; not the source maps, uploaded beside it but never run). Static
 * assets (`[assets]`, e.g. the /docs bundle) are not the script and not counted.
 */
export async function bundleSize(dir) {
  const out = mkdtempSync(join(tmpdir(), 'gatehouse-bench-bundle-'))
  try {
    await run(process.execPath, [WRANGLER, 'deploy', '--dry-run', '--outdir', out], { cwd: dir, env: wranglerEnv })
    const files = readdirSync(out).filter((f) => /\.(m?js|wasm)$/.test(f))
    const modules = files.map((file) => {
      const bytes = readFileSync(join(out, file))
      return { file, bytes: statSync(join(out, file)).size, gzip: gzipSync(bytes).length }
    })
    const sum = (key) => modules.reduce((total, m) => total + m[key], 0)
    return { bytes: sum('bytes'), gzip: sum('gzip'), modules }
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
}

/**
 * `wrangler check startup`: workerd's CPU profile of loading the Worker (top-level code,
 * module instantiation). Reports the profiled time outside `(idle)`.
 */
export async function startupTime(dir) {
  const out = mkdtempSync(join(tmpdir(), 'gatehouse-bench-startup-'))
  try {
    const file = join(out, 'startup.cpuprofile')
    await run(process.execPath, [WRANGLER, 'check', 'startup', '--outfile', file], { cwd: dir, env: wranglerEnv })
    const profile = JSON.parse(readFileSync(file, 'utf8'))
    const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id))
    let busyUs = 0
    profile.samples.forEach((id, i) => {
      if (!idle.has(id)) busyUs += profile.timeDeltas[i] ?? 0
    })
    return { cpuMs: busyUs / 1000, profileMs: (profile.endTime - profile.startTime) / 1000 }
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
}
