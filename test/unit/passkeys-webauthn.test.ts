import { generateKeyPairSync, sign } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { checkAssertion, checkAttestation, derSignatureToP1363, readClientData, userHandle } from '../../functions/core/passkeys-webauthn'
import type { RelyingParty, StoredPublicKey } from '../../functions/core/passkeys-webauthn'
import { b64url, softwareAuthenticator } from '../support/webauthn-authenticator'
import type { Algorithm, Tamper } from '../support/webauthn-authenticator'

const rp: RelyingParty = { id: 'example.com', name: 'Example', origins: ['https://app.example.com'], userVerification: 'preferred' }
const origin = 'https://app.example.com'
const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'base64url'))
const creation = {
  rp: { id: 'example.com', name: 'Example' },
  user: { id: userHandle('7f8c1a52-93e4-4b1d-8d3e-2f1a6c0b9e11'), name: 'ada@example.com', displayName: 'Ada' },
  challenge: b64url(new Uint8Array(32).fill(7)),
  pubKeyCredParams: [-8, -7, -257].map((alg) => ({ type: 'public-key', alg })),
}

async function registered(algorithm: Algorithm = 'ES256', options: { counter?: 'increment' | 'zero'; userVerified?: boolean } = {}) {
  const authenticator = softwareAuthenticator({ origin, algorithm, ...options })
  const { json } = await authenticator.register(creation)
  const result = await checkAttestation(rp, bytes(json.response.attestationObject), json.id)
  if (!result.ok) throw new Error(`registration refused: ${result.reason}`)
  return { authenticator, key: result.publicKey, result }
}

async function assert(authenticator: ReturnType<typeof softwareAuthenticator>, key: StoredPublicKey, tamper: Tamper = {}, relyingParty = rp) {
  const json = await authenticator.authenticate({ challenge: b64url(new Uint8Array(32).fill(9)), rpId: 'example.com' }, tamper)
  return checkAssertion(relyingParty, key, {
    authenticatorData: bytes(json.response.authenticatorData),
    clientDataJSON: bytes(json.response.clientDataJSON),
    signature: bytes(json.response.signature),
  })
}

describe('client data (WebAuthn §7.1 steps 7–12, §7.2 steps 11–16)', () => {
  const data = (fields: Record<string, unknown>) => new TextEncoder().encode(JSON.stringify({ type: 'webauthn.get', challenge: 'AAAA', origin, ...fields }))

  it('hands back the challenge of a right type and origin', () => {
    expect(readClientData(rp, data({}), 'webauthn.get')).toEqual({ ok: true, challenge: 'AAAA' })
  })

  it('refuses an origin that is not configured, compared exactly', () => {
    for (const other of [
      'https://evil.example',
      'https://app.example.com.evil.example',
      'https://app.example.com/',
      'http://app.example.com',
      'https://APP.example.com',
    ])
      expect(readClientData(rp, data({ origin: other }), 'webauthn.get')).toEqual({ ok: false, reason: 'wrong_origin' })
  })

  it('refuses the other ceremony’s type: an assertion is not a registration', () => {
    expect(readClientData(rp, data({}), 'webauthn.create')).toEqual({ ok: false, reason: 'wrong_type' })
  })

  it('refuses a ceremony run inside another site’s frame', () => {
    expect(readClientData(rp, data({ crossOrigin: true }), 'webauthn.get')).toEqual({ ok: false, reason: 'cross_origin' })
  })

  it('answers malformed for what is not client data', () => {
    for (const raw of ['not json', 'null', '{"type":"webauthn.get","origin":"x"}', '{"type":"webauthn.get","challenge":"a+b","origin":"x"}'])
      expect(readClientData(rp, new TextEncoder().encode(raw), 'webauthn.get')).toEqual({ ok: false, reason: 'malformed' })
    expect(readClientData(rp, Uint8Array.of(0xff, 0xfe), 'webauthn.get')).toEqual({ ok: false, reason: 'malformed' })
  })
})

describe('registration (attestation "none")', () => {
  it.each(['ES256', 'RS256', 'EdDSA'] as const)('accepts a %s credential and keeps its key as a JWK', async (algorithm) => {
    const { result } = await registered(algorithm)
    expect(result).toMatchObject({ ok: true, signCount: 0, userVerified: true, backupEligible: false })
    expect(result.publicKey.algorithm).toBe({ ES256: -7, RS256: -257, EdDSA: -8 }[algorithm])
    expect(result.publicKey.jwk.kty).toBe({ ES256: 'EC', RS256: 'RSA', EdDSA: 'OKP' }[algorithm])
  })

  it('records that a synced passkey may be backed up', async () => {
    const { result } = await registered('ES256', { counter: 'zero' })
    expect(result.backupEligible).toBe(true)
  })

  it('refuses a credential scoped to another RP ID', async () => {
    const authenticator = softwareAuthenticator({ origin })
    const { json } = await authenticator.register(creation, { rpId: 'evil.example' })
    expect(await checkAttestation(rp, bytes(json.response.attestationObject), json.id)).toEqual({ ok: false, reason: 'wrong_rp_id' })
  })

  it('refuses a registration without user presence', async () => {
    const authenticator = softwareAuthenticator({ origin })
    const { json } = await authenticator.register(creation, { userPresent: false })
    expect(await checkAttestation(rp, bytes(json.response.attestationObject), json.id)).toEqual({ ok: false, reason: 'user_not_present' })
  })

  it('refuses one without user verification when it is required', async () => {
    const authenticator = softwareAuthenticator({ origin })
    const { json } = await authenticator.register(creation, { userVerified: false })
    const strict = { ...rp, userVerification: 'required' as const }
    expect(await checkAttestation(strict, bytes(json.response.attestationObject), json.id)).toEqual({ ok: false, reason: 'user_not_verified' })
    expect((await checkAttestation(rp, bytes(json.response.attestationObject), json.id)).ok).toBe(true)
  })

  it('refuses a response whose id is not the credential the authenticator made', async () => {
    const authenticator = softwareAuthenticator({ origin })
    const { json } = await authenticator.register(creation)
    const other = b64url(new Uint8Array(16).fill(1))
    expect(await checkAttestation(rp, bytes(json.response.attestationObject), other)).toEqual({ ok: false, reason: 'credential_mismatch' })
  })

  it('answers malformed for bytes that are not an attestation object', async () => {
    for (const junk of [new Uint8Array(0), Uint8Array.of(0xa0), new TextEncoder().encode('hello')])
      expect(await checkAttestation(rp, junk, 'AAAA')).toEqual({ ok: false, reason: 'malformed' })
  })
})

describe('authentication (assertion signatures)', () => {
  it.each(['ES256', 'RS256', 'EdDSA'] as const)('verifies a %s signature with Web Crypto', async (algorithm) => {
    const { authenticator, key } = await registered(algorithm)
    expect(await assert(authenticator, key)).toEqual({ ok: true, signCount: 1, userVerified: true })
  })

  it.each(['ES256', 'RS256', 'EdDSA'] as const)('refuses a %s signature by another key', async (algorithm) => {
    const { authenticator, key } = await registered(algorithm)
    expect(await assert(authenticator, key, { wrongKey: true })).toEqual({ ok: false, reason: 'bad_signature' })
  })

  it('refuses signed data whose client data was altered after signing', async () => {
    const { authenticator, key } = await registered()
    const json = await authenticator.authenticate({ challenge: 'AAAA', rpId: 'example.com' })
    const altered = new TextEncoder().encode(Buffer.from(json.response.clientDataJSON, 'base64url').toString().replace('AAAA', 'BBBB'))
    const result = await checkAssertion(rp, key, {
      authenticatorData: bytes(json.response.authenticatorData),
      clientDataJSON: altered,
      signature: bytes(json.response.signature),
    })
    expect(result).toEqual({ ok: false, reason: 'bad_signature' })
  })

  it('refuses an assertion for another RP ID, even when validly signed', async () => {
    const { authenticator, key } = await registered()
    expect(await assert(authenticator, key, { rpId: 'evil.example' })).toEqual({ ok: false, reason: 'wrong_rp_id' })
  })

  it('refuses an assertion without user presence', async () => {
    const { authenticator, key } = await registered()
    expect(await assert(authenticator, key, { userPresent: false })).toEqual({ ok: false, reason: 'user_not_present' })
  })

  it('reports user verification, and refuses its absence only when required', async () => {
    const { authenticator, key } = await registered()
    expect(await assert(authenticator, key, { userVerified: false })).toEqual({ ok: true, signCount: 1, userVerified: false })
    const strict = { ...rp, userVerification: 'required' as const }
    expect(await assert(authenticator, key, { userVerified: false }, strict)).toEqual({ ok: false, reason: 'user_not_verified' })
  })

  it('answers bad_signature, not an exception, for a signature that is not DER', async () => {
    const { authenticator, key } = await registered('ES256')
    const json = await authenticator.authenticate({ challenge: 'AAAA', rpId: 'example.com' })
    const result = await checkAssertion(rp, key, {
      authenticatorData: bytes(json.response.authenticatorData),
      clientDataJSON: bytes(json.response.clientDataJSON),
      signature: new Uint8Array(64).fill(1),
    })
    expect(result).toEqual({ ok: false, reason: 'bad_signature' })
  })
})

describe('user handle', () => {
  it('is the 16 bytes of the user id', () => {
    expect(Buffer.from(userHandle('7f8c1a52-93e4-4b1d-8d3e-2f1a6c0b9e11'), 'base64url').toString('hex')).toBe('7f8c1a5293e44b1d8d3e2f1a6c0b9e11')
  })
})

describe('ECDSA signatures: DER to r ‖ s', () => {
  it('matches what OpenSSL writes in either encoding, for short and padded integers alike', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    for (let i = 0; i < 200; i++) {
      const data = Buffer.from(`message ${i}`)
      // OpenSSL signs in DER; to r ‖ s and back must give its very bytes.
      const der = new Uint8Array(sign('sha256', data, { key: privateKey, dsaEncoding: 'der' }))
      const rs = derSignatureToP1363(der, 32)
      expect(rs).not.toBeNull()
      const back = Buffer.from(derOf(rs!))
      expect(back.equals(Buffer.from(der))).toBe(true)
    }
  })

  it('refuses what is not exactly one DER sequence of two positive minimal integers', () => {
    const r = [0x02, 0x02, 0x01, 0x02]
    const good = Uint8Array.from([0x30, 8, ...r, ...r])
    expect(derSignatureToP1363(good, 32)).not.toBeNull()
    const bad = [
      [0x31, 8, ...r, ...r], // not a SEQUENCE
      [0x30, 9, ...r, ...r], // wrong length
      [0x30, 10, ...r, ...r, 0, 0], // trailing bytes inside
      [0x30, 8, ...r, ...r, 0], // trailing bytes outside
      [0x30, 8, 0x03, 0x02, 1, 2, ...r], // not an INTEGER
      [0x30, 8, 0x02, 0x02, 0x80, 1, ...r], // negative
      [0x30, 8, 0x02, 0x02, 0x00, 1, ...r], // needless padding
      [0x30, 6, 0x02, 0x00, ...r], // empty integer
      [0x30, 39, 0x02, 33, 1, ...new Array(32).fill(1), ...r], // r wider than the curve
    ]
    for (const bytes of bad) expect(derSignatureToP1363(Uint8Array.from(bytes), 32), JSON.stringify(bytes)).toBeNull()
  })
})

// The reverse conversion, written the textbook way, to check ours against OpenSSL's output.
function derOf(rs: Uint8Array): Uint8Array {
  const integer = (bytes: Uint8Array) => {
    let i = 0
    while (i < bytes.length - 1 && bytes[i] === 0) i++
    const body = [...bytes.subarray(i)]
    if (body[0]! & 0x80) body.unshift(0)
    return [0x02, body.length, ...body]
  }
  const body = [...integer(rs.subarray(0, 32)), ...integer(rs.subarray(32))]
  return Uint8Array.from([0x30, body.length, ...body])
}
