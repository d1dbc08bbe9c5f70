import { describe, expect, it } from 'vitest'
import { base64url, randomBytes } from '../../functions/core/crypto'
import { decrypt, encrypt, loadDataKeys } from '../../functions/core/encryption'
import { hashRecoveryCode, newRecoveryCodes, normalizeRecoveryCode } from '../../functions/core/recovery-codes'
import { parseConfig } from '../../functions/config'
import { testBindings } from '../support/app'

const key = (kid: string) => ({ kid, key: base64url(randomBytes(32)) })

describe('data encryption at rest', () => {
  it('round-trips, and a ciphertext does not open under another context', async () => {
    const keys = await loadDataKeys(JSON.stringify([key('k1')]))
    const secret = randomBytes(20)
    const sealed = await encrypt(keys, secret, 'user-a')
    expect(sealed.kid).toBe('k1')
    expect(await decrypt(keys, 'k1', sealed.ciphertext, 'user-a')).toEqual(secret)
    await expect(decrypt(keys, 'k1', sealed.ciphertext, 'user-b')).rejects.toThrow()
  })

  it('encrypts with the first key and still decrypts with the older ones (rotation)', async () => {
    const old = key('old')
    const before = await loadDataKeys(JSON.stringify([old]))
    const sealed = await encrypt(before, new Uint8Array([1, 2, 3]), 'u')
    const after = await loadDataKeys(JSON.stringify([key('new'), old]))
    expect((await encrypt(after, new Uint8Array([1]), 'u')).kid).toBe('new')
    expect(await decrypt(after, 'old', sealed.ciphertext, 'u')).toEqual(new Uint8Array([1, 2, 3]))
  })

  it.each([
    ['not JSON', 'nope'],
    ['an empty list', '[]'],
    ['a short key', JSON.stringify([{ kid: 'a', key: base64url(randomBytes(16)) }])],
    ['a key that is not base64url', JSON.stringify([{ kid: 'a', key: '!'.repeat(43) }])],
    ['a missing kid', JSON.stringify([{ key: base64url(randomBytes(32)) }])],
    ['a duplicate kid', JSON.stringify([key('a'), key('a')])],
  ])('refuses to start with %s in DATA_ENCRYPTION_KEYS', async (_, value) => {
    await expect(parseConfig(await testBindings({ DATA_ENCRYPTION_KEYS: value }))).rejects.toThrow(/DATA_ENCRYPTION_KEYS/)
  })

  it('takes the TOTP issuer from configuration, "Gatehouse" by default', async () => {
    expect((await parseConfig(await testBindings())).totpIssuer).toBe('Gatehouse')
    expect((await parseConfig(await testBindings({ TOTP_ISSUER: 'Acme' }))).totpIssuer).toBe('Acme')
    await expect(parseConfig(await testBindings({ TOTP_ISSUER: 'a:b' }))).rejects.toThrow(/TOTP_ISSUER/)
  })
})

describe('recovery codes', () => {
  it('come ten at a time, 80 bits each, in groups without look-alike letters', () => {
    const codes = newRecoveryCodes()
    expect(codes).toHaveLength(10)
    expect(new Set(codes).size).toBe(10)
    // 16 symbols of a 32-letter alphabet: 16 × 5 = 80 bits.
    for (const code of codes) expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/)
  })

  it('forgive case, spacing and the letters O, I and L as typed', () => {
    expect(normalizeRecoveryCode('7qhm 2xkd-9vnc a4te')).toBe('7QHM2XKD9VNCA4TE')
    expect(normalizeRecoveryCode('OIL0-0000-0000-0000')).toBe('0110000000000000')
  })

  it('refuse anything else', () => {
    for (const input of ['', '123456', '7QHM-2XKD-9VNC-A4T', '7QHM-2XKD-9VNC-A4TEX', '7QHM-2XKD-9VNC-A4TU', 'ıQHM-2XKD-9VNC-A4TE'])
      expect(normalizeRecoveryCode(input)).toBeNull()
  })

  it('are stored as hashes that do not contain them', async () => {
    const [code] = newRecoveryCodes()
    const hash = await hashRecoveryCode(normalizeRecoveryCode(code!)!)
    expect(hash).not.toContain(code!.replace(/-/g, ''))
    expect(hash).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })
})
