// A bench-only Worker: times Gatehouse's own password hashing in workerd, apart from the
// production app (which must never expose a hash-timing route).
import { loadArgon2 } from '../../functions/core/argon2'
import { DUMMY_HASH, hashPassword, verifyPassword } from '../../functions/core/passwords'

export default {
  /** `GET /hash?n=N` (or `/verify?n=N`): N hashes in one request; the bench subtracts n=0. */
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url)
    const n = Number(url.searchParams.get('n') ?? '1')
    const argon2 = await loadArgon2()
    for (let i = 0; i < n; i++) {
      if (url.pathname === '/verify') verifyPassword(argon2, `bench password ${i}`, DUMMY_HASH)
      else hashPassword(argon2, `bench password ${i}`)
    }
    return new Response(`${n}\n`)
  },
}
