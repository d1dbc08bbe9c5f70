import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { unstable_startWorker } from 'wrangler'
import { generateDevSecrets } from '../../scripts/dev-vars.mjs'
import { uniqueIp } from './ip'
import { TEST_ISSUER } from './keys'
import { startTestPostgres } from './postgres'

export interface TestWorker {
  /** Where the Worker listens, e.g. http://127.0.0.1:41234 */
  url: string
  /**
   * fetch() against the Worker; `path` is relative to its URL. Like testApp, each request
   * comes from a client address of its own (CF-Connecting-IP) unless `init` names one, so
   * per-IP limits reach only the tests that are about them.
   */
  fetch(path: string, init?: RequestInit): Promise<Response>
  db: { url: string; wsProxy: string }
  stop(): Promise<void>
}

// Secrets are generated once per test process (an RSA key takes ~100 ms).
let secrets: ReturnType<typeof generateDevSecrets> | undefined

/**
 * The real Worker (wrangler.toml, bundled by wrangler, running in workerd) over its own fresh
 * database. `vars` override anything, including the generated secrets.
 */
export async function startTestWorker(
  vars: Record<string, string> = {},
  options: { /** A dev registry directory, for Workers bound to this one by a service binding. */ registry?: string } = {},
): Promise<TestWorker> {
  const db = await startTestPostgres()
  try {
    const values: Record<string, string> = {
      ENVIRONMENT: 'test',
      // wrangler.toml has no issuer (production requires one): tests name their own.
      JWT_ISSUER: TEST_ISSUER,
      ...(await (secrets ??= generateDevSecrets())),
      DATABASE_URL: db.url,
      DB_WS_PROXY: db.wsProxy,
      ...vars,
    }
    const worker = await unstable_startWorker({
      config: 'wrangler.toml',
      // A developer's .dev.vars must not leak into tests: wrangler reads .dev.vars only when no
      // env files are named, and a named file that does not exist is skipped.
      envFiles: [join(tmpdir(), 'gatehouse-tests-read-no-env-file')],
      bindings: Object.fromEntries(Object.entries(values).map(([name, value]) => [name, { type: 'plain_text', value }])),
      dev: {
        remote: false,
        server: { hostname: '127.0.0.1', port: 0 },
        inspector: false,
        watch: false,
        persist: false,
        logLevel: 'warn',
        registry: options.registry,
        // GET /__scheduled runs the Cron Trigger's handler (retention).
        testScheduled: true,
      },
    })
    try {
      await worker.ready
      const url = (await worker.url).href.replace(/\/$/, '')
      return {
        url,
        fetch: (path, init) => {
          const headers = new Headers(init?.headers)
          if (!headers.has('CF-Connecting-IP')) headers.set('CF-Connecting-IP', uniqueIp())
          return fetch(new URL(path, `${url}/`), { ...init, headers })
        },
        db: { url: db.url, wsProxy: db.wsProxy },
        stop: async () => {
          try {
            await worker.dispose()
          } finally {
            await db.close()
          }
        },
      }
    } catch (error) {
      await worker.dispose()
      throw error
    }
  } catch (error) {
    await db.close()
    throw error
  }
}
