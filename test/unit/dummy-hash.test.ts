import { describe, expect, it } from 'vitest'
import { loadArgon2 } from '../../functions/core/argon2'
import { DUMMY_HASH, needsRehash, verifyPassword } from '../../functions/core/passwords'

describe('the dummy hash unknown emails are checked against', () => {
  it('is a constant with today’s parameters: no argon2 run makes it on an isolate’s first unknown-email login', async () => {
    // Today's parameters, so verifying against it costs what a real account's hash costs.
    expect(needsRehash(DUMMY_HASH)).toBe(false)
    expect(verifyPassword(await loadArgon2(), 'correct horse battery staple', DUMMY_HASH)).toBe(false)
  })
})
