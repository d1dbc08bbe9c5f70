import { hashPassword } from 'better-auth/crypto'
import { createAuth } from './auth'
import type { Env } from './auth'

/** Times `n` hashes with Better Auth's own password hasher; the bench subtracts n=0. */
async function hashes(url: URL): Promise<Response> {
  const n = Number(url.searchParams.get('n') ?? '1')
  for (let i = 0; i < n; i++) await hashPassword(`bench password ${i}`)
  return new Response(`${n}\n`)
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url)
    // Bench-only route: this Worker exists only for `npm run bench`.
    if (url.pathname === '/bench/hash') return hashes(url)
    const { auth, close } = createAuth(env)
    try {
      return await auth.handler(request)
    } finally {
      ctx.waitUntil(close().catch(() => {}))
    }
  },
}
