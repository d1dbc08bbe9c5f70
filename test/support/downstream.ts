import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { unstable_startWorker } from 'wrangler'
import type { TestWorker } from './worker'
import { startTestWorker } from './worker'

export interface DownstreamPair {
  gatehouse: TestWorker
  /** fetch() against examples/downstream, bound to this Gatehouse. */
  downstream: (path: string, init?: RequestInit) => Promise<Response>
  stop(): Promise<void>
}

/**
 * Gatehouse and examples/downstream, each under wrangler dev, the downstream's service binding
 * resolved through a dev registry of their own (no other test's "gatehouse" can answer it).
 */
export async function startDownstreamPair(vars: Record<string, string> = {}): Promise<DownstreamPair> {
  const registry = mkdtempSync(join(tmpdir(), 'gatehouse-registry-'))
  const issuer = vars.JWT_ISSUER ?? 'https://gatehouse.test'
  const gatehouse = await startTestWorker({ JWT_ISSUER: issuer, ...vars }, { registry })
  try {
    const worker = await unstable_startWorker({
      config: 'examples/downstream/wrangler.toml',
      envFiles: [join(tmpdir(), 'gatehouse-tests-read-no-env-file')],
      bindings: { GATEHOUSE_ISSUER: { type: 'plain_text', value: issuer } },
      dev: { remote: false, server: { hostname: '127.0.0.1', port: 0 }, inspector: false, watch: false, persist: false, logLevel: 'warn', registry },
    })
    await worker.ready
    const url = (await worker.url).href
    return {
      gatehouse,
      downstream: (path, init) => fetch(new URL(path, url), init),
      stop: async () => {
        try {
          await worker.dispose()
        } finally {
          await gatehouse.stop()
          rmSync(registry, { recursive: true, force: true })
        }
      },
    }
  } catch (error) {
    await gatehouse.stop()
    rmSync(registry, { recursive: true, force: true })
    throw error
  }
}
