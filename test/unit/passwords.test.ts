import Argon2 from '@phi-ag/argon2'
import wasm from '@phi-ag/argon2/argon2.wasm'
import { describe, expect, it } from 'vitest'
import { DUMMY_HASH, hashPassword, needsRehash, PASSWORD_HASH_PARAMS, verifyPassword } from '../../functions/core/passwords'

const argon2 = new Argon2(await WebAssembly.instantiate(wasm))

describe('password hashing', () => {
  it('stores argon2id with OWASP parameters in a PHC string, salted', () => {
    const a = hashPassword(argon2, 'correct horse battery staple')
    const b = hashPassword(argon2, 'correct horse battery staple')
    expect(a).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/)
    expect(a).not.toBe(b)
    expect(PASSWORD_HASH_PARAMS).toEqual({ memoryCost: 19456, timeCost: 2, parallelism: 1 })
  })

  it('verifies the password and nothing else: no truncation, no case folding', () => {
    const long = `${'x'.repeat(200)}A`
    const hash = hashPassword(argon2, long)
    expect(verifyPassword(argon2, long, hash)).toBe(true)
    expect(verifyPassword(argon2, `${'x'.repeat(200)}a`, hash)).toBe(false)
    expect(verifyPassword(argon2, 'x'.repeat(200), hash)).toBe(false)
  })

  it('verifies a hash made by the reference argon2 implementation', () => {
    // From the reference implementation's CLI: echo -n password | argon2 somesalt -id -t 2 -m 16 -p 1 -e
    const reference = '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc'
    expect(verifyPassword(argon2, 'password', reference)).toBe(true)
    expect(verifyPassword(argon2, 'passwore', reference)).toBe(false)
  })

  it('applies NFKC normalization so one password typed two ways matches', () => {
    const hash = hashPassword(argon2, 'caf\u00e9 au lait!')
    expect(verifyPassword(argon2, 'cafe\u0301 au lait!', hash)).toBe(true)
  })

  it('treats a malformed stored hash as a mismatch, not a crash', () => {
    expect(verifyPassword(argon2, 'whatever1', 'not-a-hash')).toBe(false)
  })

  it('asks for a rehash when parameters were weaker', () => {
    expect(needsRehash(hashPassword(argon2, 'password123'))).toBe(false)
    expect(needsRehash('$argon2id$v=19$m=4096,t=3,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc')).toBe(true)
    expect(needsRehash('$pbkdf2-sha256$100000$x$y')).toBe(true)
  })

  it('keeps one dummy hash, with the current parameters', () => {
    expect(DUMMY_HASH).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
  })
})
