import { describe, expect, it } from 'vitest'
import { dictionary } from '@zxcvbn-ts/language-common'
import { isCommonPassword } from '../../functions/core/password-policy'

describe('the bundled common-password list', () => {
  it('holds every one of the 10,000 most common passwords of 8+ characters, normalised and case-blind', () => {
    const ranked = dictionary['passwords-common'] as string[]
    const eligible = ranked.filter((w) => [...w.normalize('NFKC')].length >= 8).slice(0, 10_000)
    expect(eligible.filter((w) => !isCommonPassword(w))).toEqual([])
    expect(eligible.filter((w) => !isCommonPassword(w.toUpperCase()))).toEqual([])
  })

  it('does not hold ordinary passphrases', () => {
    for (const p of ['correct horse battery staple', 'a brand new passphrase', 'Tr0ub4dor&3xyz!']) expect(isCommonPassword(p)).toBe(false)
  })
})
