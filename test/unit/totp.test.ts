import { describe, expect, it } from 'vitest'
import { base32Encode, newTotpSecret, timeStepAt, totpCode, totpUri, verifyTotp } from '../../functions/core/totp'
import { oathtoolTotp } from '../support/oathtool'

// RFC 6238 Appendix B, SHA-1 rows. The seed is the ASCII of "12345678901234567890"; the
// 8-digit values end in our 6-digit ones (both are the same number mod 10^digits).
const RFC_SEED = new TextEncoder().encode('12345678901234567890')
const RFC_VECTORS: [seconds: number, code: string][] = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
]

const at = (seconds: number) => new Date(seconds * 1000)

describe('totpCode', () => {
  it.each(RFC_VECTORS)('matches the RFC 6238 vector at T=%i', async (seconds, code) => {
    expect(await totpCode(RFC_SEED, at(seconds))).toBe(code.slice(-6))
  })

  it('agrees with oathtool on random secrets and moments', async () => {
    for (let i = 0; i < 20; i++) {
      const secret = newTotpSecret()
      const moment = at(1_700_000_000 + i * 7_919 + (i % 30))
      expect(await totpCode(secret, moment)).toBe(oathtoolTotp(base32Encode(secret), moment))
    }
  })
})

describe('verifyTotp', () => {
  const now = at(1_795_348_815) // 15 s into a step
  const step = timeStepAt(now)

  it('accepts the current step and one step of drift either way, and says which step matched', async () => {
    const secret = newTotpSecret()
    for (const drift of [-1, 0, 1]) {
      const code = await totpCode(secret, at((step + drift) * 30))
      expect(await verifyTotp(secret, code, now, null)).toBe(step + drift)
    }
  })

  it('refuses two steps of drift', async () => {
    const secret = newTotpSecret()
    for (const drift of [-2, 2]) expect(await verifyTotp(secret, await totpCode(secret, at((step + drift) * 30)), now, null)).toBeNull()
  })

  it('refuses the last accepted step and every earlier one (RFC 6238 §5.2)', async () => {
    const secret = newTotpSecret()
    const current = await totpCode(secret, now)
    const previous = await totpCode(secret, at((step - 1) * 30))
    expect(await verifyTotp(secret, current, now, step)).toBeNull()
    expect(await verifyTotp(secret, previous, now, step - 1)).toBeNull()
    expect(await verifyTotp(secret, previous, now, step)).toBeNull()
    expect(await verifyTotp(secret, current, now, step - 1)).toBe(step)
  })

  it('refuses everything, without throwing, when the last step is ahead of the clock', async () => {
    const secret = newTotpSecret()
    expect(await verifyTotp(secret, await totpCode(secret, now), now, step + 5)).toBeNull()
  })

  it('refuses a wrong code and malformed ones without throwing', async () => {
    const secret = newTotpSecret()
    const right = await totpCode(secret, now)
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0')
    for (const code of [wrong, '', '12345', '1234567', 'abcdef']) expect(await verifyTotp(secret, code, now, null)).toBeNull()
  })
})

describe('totpUri', () => {
  it('names the issuer and the account (Key URI format), with the base32 secret', () => {
    const secret = new Uint8Array(20).fill(0xff)
    expect(totpUri(secret, 'Gatehouse', 'ada@example.com')).toBe(
      'otpauth://totp/Gatehouse:ada%40example.com?secret=77777777777777777777777777777777&issuer=Gatehouse',
    )
  })
})
