import { describe, expect, it } from 'vitest'
import { base32Encode, newTotpSecret, timeStepAt, totpCode, totpUri, verifyTotp } from '../../functions/core/totp'
import { base32Decode, hotp, referenceTotp, totp } from '../support/rfc6238'

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

  it('agrees with the reference implementation on random secrets and moments', async () => {
    for (let i = 0; i < 50; i++) {
      const secret = newTotpSecret()
      const moment = at(1_700_000_000 + i * 7_919 + (i % 30))
      expect(await totpCode(secret, moment)).toBe(referenceTotp(base32Encode(secret), moment))
    }
  })
})

describe('the reference TOTP (test/support/rfc6238.ts) the suites compare against', () => {
  // RFC 6238 Appendix B, every row: the seeds are the ASCII digits repeated to each hash's length.
  const seeds = {
    sha1: Buffer.from('12345678901234567890'),
    sha256: Buffer.from('12345678901234567890123456789012'),
    sha512: Buffer.from('1234567890123456789012345678901234567890123456789012345678901234'),
  }
  const table: [number, string, string, string][] = [
    [59, '94287082', '46119246', '90693936'],
    [1111111109, '07081804', '68084774', '25091201'],
    [1111111111, '14050471', '67062674', '99943326'],
    [1234567890, '89005924', '91819424', '93441116'],
    [2000000000, '69279037', '90698825', '38618901'],
    [20000000000, '65353130', '77737706', '47863826'],
  ]
  it.each(table)('matches RFC 6238 Appendix B at T=%i for SHA-1, SHA-256 and SHA-512', (seconds, sha1, sha256, sha512) => {
    expect(totp(seeds.sha1, at(seconds), { digits: 8, algorithm: 'sha1' })).toBe(sha1)
    expect(totp(seeds.sha256, at(seconds), { digits: 8, algorithm: 'sha256' })).toBe(sha256)
    expect(totp(seeds.sha512, at(seconds), { digits: 8, algorithm: 'sha512' })).toBe(sha512)
  })

  it('matches RFC 4226 Appendix D (HOTP, counters 0–9)', () => {
    const codes = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489']
    expect(codes.map((_, counter) => hotp(seeds.sha1, counter))).toEqual(codes)
  })

  it('decodes base32 as RFC 4648 §10 does', () => {
    expect(base32Decode('MZXW6YTBOI======').toString()).toBe('foobar')
    expect(base32Decode('mzxw6ytb').toString()).toBe('fooba')
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
