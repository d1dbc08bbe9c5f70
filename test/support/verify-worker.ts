import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { unstable_startWorker } from 'wrangler'

/** bench/verify-worker in workerd: gatehouse/verify with a JWKS it serves and counts. */
export async function startVerifyWorker() {
  const worker = await unstable_startWorker({
    config: 'bench/verify-worker/wrangler.toml',
    envFiles: [join(tmpdir(), 'gatehouse-tests-read-no-env-file')],
    dev: { remote: false, server: { hostname: '127.0.0.1', port: 0 }, inspector: false, watch: false, persist: false, logLevel: 'warn' },
  })
  try {
    await worker.ready
    const url = (await worker.url).href
    return {
      url,
      post: async (path: string, body: unknown) => {
        const res = await fetch(new URL(path, url), { method: 'POST', body: JSON.stringify(body) })
        if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
        return res.json() as Promise<{ fetches: number; results: Record<string, number> }>
      },
      stop: () => worker.dispose(),
    }
  } catch (error) {
    await worker.dispose()
    throw error
  }
}
