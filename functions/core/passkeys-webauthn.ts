import { decodeCBORToNativeValueNoLeftoverBytes } from '@oslojs/cbor'
import {
  COSEKeyType,
  coseAlgorithmEdDSA,
  coseAlgorithmES256,
  coseAlgorithmRS256,
  coseEllipticCurveEd25519,
  coseEllipticCurveP256,
  parseAuthenticatorData,
} from '@oslojs/webauthn'
import type { COSEPublicKey } from '@oslojs/webauthn'
import { base64url, constantTimeEqual, fromBase64url } from './crypto'

// The checks of a WebAuthn ceremony that need no database: W3C Web Authentication Level 3,
// §7.1 (registration) and §7.2 (authentication). @oslojs/webauthn parses the CBOR and the
// binary layouts; every check and every signature (Web Crypto) is ours, here.

/** The relying party as configured: WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS, WEBAUTHN_USER_VERIFICATION. */
export interface RelyingParty {
  id: string
  name: string
  /** Exact origins (`https://app.example.com`) the browser may report in clientDataJSON. */
  origins: readonly string[]
  /** `required`: an assertion without user verification is refused; `preferred`: it is one factor. */
  userVerification: 'required' | 'preferred'
}

/** Why a response was refused: goes to the audit log, never to the caller in more than one code. */
export type CeremonyFailure =
  | 'malformed'
  | 'wrong_type'
  | 'wrong_origin'
  | 'cross_origin'
  | 'wrong_rp_id'
  | 'user_not_present'
  | 'user_not_verified'
  | 'unsupported_algorithm'
  | 'bad_signature'
  | 'credential_mismatch'
  | 'challenge_invalid'
  | 'counter_regressed'
  | 'unknown_credential'

export type Checked<T> = ({ ok: true } & T) | { ok: false; reason: CeremonyFailure }

const fail = (reason: CeremonyFailure) => ({ ok: false, reason }) as const

/** The algorithms offered in `pubKeyCredParams`, in order of preference. */
export const SUPPORTED_ALGORITHMS = [coseAlgorithmEdDSA, coseAlgorithmES256, coseAlgorithmRS256] as const

/** A credential id longer than this is refused (WebAuthn §7.1 step 19: 1023 bytes). */
const MAX_CREDENTIAL_ID_BYTES = 1023
const MIN_RSA_MODULUS_BYTES = 256

const encoder = new TextEncoder()

const sha256 = async (bytes: Uint8Array) => new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))

/** base64url that may fail: anything the browser sent is untrusted text. */
export function decodeBase64url(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null
  try {
    return fromBase64url(text)
  } catch {
    return null
  }
}

/**
 * §7.1 steps 7–12, §7.2 steps 11–16: the client data of a response. Returns the challenge
 * (to be looked up and spent) when the type, origin and cross-origin flag are right.
 */
export function readClientData(rp: RelyingParty, clientDataJSON: Uint8Array, type: 'webauthn.create' | 'webauthn.get'): Checked<{ challenge: string }> {
  let data: unknown
  try {
    data = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(clientDataJSON))
  } catch {
    return fail('malformed')
  }
  if (typeof data !== 'object' || data === null) return fail('malformed')
  const { type: actual, challenge, origin, crossOrigin } = data as Record<string, unknown>
  if (typeof challenge !== 'string' || typeof origin !== 'string' || decodeBase64url(challenge) === null) return fail('malformed')
  if (actual !== type) return fail('wrong_type')
  // Exact match: no prefix, no wildcard, no trailing slash forgiven.
  if (!rp.origins.includes(origin)) return fail('wrong_origin')
  // A page framed by another site must not complete our ceremony.
  if (crossOrigin === true) return fail('cross_origin')
  return { ok: true, challenge }
}

/** What an authenticator says about itself in the flags byte of its data (§6.1). */
interface Flags {
  userPresent: boolean
  userVerified: boolean
  backupEligible: boolean
  signCount: number
}

async function checkAuthenticatorData(rp: RelyingParty, raw: Uint8Array, parsed: { relyingPartyIdHash: Uint8Array }): Promise<Checked<Flags>> {
  // §7.2 step 15: the RP ID hash proves the authenticator scoped the credential to our RP ID.
  if (!constantTimeEqual(parsed.relyingPartyIdHash, await sha256(encoder.encode(rp.id)))) return fail('wrong_rp_id')
  const flags = raw[32]!
  // §7.1 step 14, §7.2 step 16: user presence, always.
  if (!(flags & 0x01)) return fail('user_not_present')
  const userVerified = (flags & 0x04) !== 0
  if (rp.userVerification === 'required' && !userVerified) return fail('user_not_verified')
  const signCount = new DataView(raw.buffer, raw.byteOffset + 33, 4).getUint32(0)
  return { ok: true, userPresent: true, userVerified, backupEligible: (flags & 0x08) !== 0, signCount }
}

/** A credential's public key, as stored: a JWK for Web Crypto and the COSE algorithm it signs with. */
export interface StoredPublicKey {
  jwk: JsonWebKey
  algorithm: number
}

const bytesOf = (key: COSEPublicKey, label: number) => {
  const value = (key.decoded as Record<number, unknown>)[label]
  return value instanceof Uint8Array ? value : null
}

/** The COSE key of a new credential as a JWK, if it is one of ours and well formed (§5.8.5). */
function toJwk(key: COSEPublicKey): StoredPublicKey | null {
  try {
    const algorithm = key.algorithm()
    const type = key.type()
    if (algorithm === coseAlgorithmES256 && type === COSEKeyType.EC2) {
      if (key.ec2().curve !== coseEllipticCurveP256) return null
      return { algorithm, jwk: { kty: 'EC', crv: 'P-256', x: base64url(bytesOf(key, -2)!), y: base64url(bytesOf(key, -3)!) } }
    }
    if (algorithm === coseAlgorithmRS256 && type === COSEKeyType.RSA) {
      const n = bytesOf(key, -1)
      const e = bytesOf(key, -2)
      if (!n || !e || n.length < MIN_RSA_MODULUS_BYTES) return null
      return { algorithm, jwk: { kty: 'RSA', n: base64url(n), e: base64url(e) } }
    }
    if (algorithm === coseAlgorithmEdDSA && type === COSEKeyType.OKP) {
      const okp = key.okp()
      if (okp.curve !== coseEllipticCurveEd25519 || okp.x.length !== 32) return null
      return { algorithm, jwk: { kty: 'OKP', crv: 'Ed25519', x: base64url(okp.x) } }
    }
  } catch {}
  return null
}

const WEB_CRYPTO: Record<number, { key: Parameters<SubtleCrypto['importKey']>[2]; sign: Parameters<SubtleCrypto['verify']>[0] }> = {
  [coseAlgorithmES256]: { key: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } },
  [coseAlgorithmRS256]: { key: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, sign: { name: 'RSASSA-PKCS1-v1_5' } },
  [coseAlgorithmEdDSA]: { key: { name: 'Ed25519' }, sign: { name: 'Ed25519' } },
}

async function importPublicKey(key: StoredPublicKey): Promise<CryptoKey | null> {
  const params = WEB_CRYPTO[key.algorithm]
  if (!params) return null
  try {
    return await crypto.subtle.importKey('jwk', key.jwk, params.key, false, ['verify'])
  } catch {
    return null
  }
}

export interface NewCredential {
  credentialId: string
  publicKey: StoredPublicKey
  signCount: number
  userVerified: boolean
  backupEligible: boolean
}

/**
 * §7.1 steps 13–21: the attestation object of a registration. The attestation statement is
 * not checked: we ask for `attestation: "none"` and trust no authenticator model, so any
 * statement a client still sends is treated as none (§8.7).
 *
 * @param credentialId the response's `id`, which must be the credential the authenticator made
 */
export async function checkAttestation(rp: RelyingParty, attestationObject: Uint8Array, credentialId: string): Promise<Checked<NewCredential>> {
  let authData: Uint8Array
  let parsed: ReturnType<typeof parseAuthenticatorData>
  try {
    const decoded = decodeCBORToNativeValueNoLeftoverBytes(attestationObject, 4) as { authData?: unknown } | null
    if (!(decoded?.authData instanceof Uint8Array)) return fail('malformed')
    authData = decoded.authData
    parsed = parseAuthenticatorData(authData)
  } catch {
    return fail('malformed')
  }
  const credential = parsed.credential
  if (!credential || credential.id.length === 0 || credential.id.length > MAX_CREDENTIAL_ID_BYTES) return fail('malformed')
  const flags = await checkAuthenticatorData(rp, authData, parsed)
  if (!flags.ok) return flags
  if (base64url(credential.id) !== credentialId) return fail('credential_mismatch')
  const publicKey = toJwk(credential.publicKey)
  // §7.1 step 18: the key's algorithm must be one we offered; a key Web Crypto refuses is none.
  if (!publicKey || !(await importPublicKey(publicKey))) return fail('unsupported_algorithm')
  return { ok: true, credentialId, publicKey, signCount: flags.signCount, userVerified: flags.userVerified, backupEligible: flags.backupEligible }
}

export interface AssertionResult {
  signCount: number
  userVerified: boolean
}

/**
 * §7.2 steps 15–21 for a credential we hold: RP ID hash, flags, and the signature over
 * authenticatorData ‖ SHA-256(clientDataJSON), checked with Web Crypto.
 */
export async function checkAssertion(
  rp: RelyingParty,
  key: StoredPublicKey,
  assertion: { authenticatorData: Uint8Array; clientDataJSON: Uint8Array; signature: Uint8Array },
): Promise<Checked<AssertionResult>> {
  let parsed: ReturnType<typeof parseAuthenticatorData>
  try {
    parsed = parseAuthenticatorData(assertion.authenticatorData)
    // Attested credential data belongs to a registration, never to an assertion (§6.1).
    if (parsed.credential) return fail('malformed')
  } catch {
    return fail('malformed')
  }
  const flags = await checkAuthenticatorData(rp, assertion.authenticatorData, parsed)
  if (!flags.ok) return flags
  const publicKey = await importPublicKey(key)
  if (!publicKey) return fail('unsupported_algorithm')
  let signature = assertion.signature
  if (key.algorithm === coseAlgorithmES256) {
    // WebAuthn ECDSA signatures are DER (§6.5.6); Web Crypto wants r ‖ s.
    const rs = derSignatureToP1363(signature, 32)
    if (!rs) return fail('bad_signature')
    signature = rs
  }
  const signed = new Uint8Array(assertion.authenticatorData.length + 32)
  signed.set(assertion.authenticatorData)
  signed.set(await sha256(assertion.clientDataJSON), assertion.authenticatorData.length)
  const valid = await crypto.subtle.verify(WEB_CRYPTO[key.algorithm]!.sign, publicKey, signature, signed)
  if (!valid) return fail('bad_signature')
  return { ok: true, signCount: flags.signCount, userVerified: flags.userVerified }
}

/**
 * An ECDSA signature in DER, `SEQUENCE { INTEGER r, INTEGER s }` (RFC 3279 §2.2.3), as the
 * fixed-width r ‖ s Web Crypto verifies; null for anything that is not exactly that.
 * Short-form lengths only: an ES256 signature is at most 72 bytes.
 */
export function derSignatureToP1363(der: Uint8Array, size: number): Uint8Array | null {
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2 || der[1]! >= 0x80) return null
  const out = new Uint8Array(size * 2)
  let at = 2
  for (const offset of [0, size]) {
    if (der[at] !== 0x02) return null
    const length = der[at + 1]!
    if (length === 0 || length >= 0x80 || at + 2 + length > der.length) return null
    let value = der.subarray(at + 2, at + 2 + length)
    if (value[0]! & 0x80) return null // negative
    if (value[0] === 0 && value.length > 1) {
      if (!(value[1]! & 0x80)) return null // DER: no padding a positive integer does not need
      value = value.subarray(1)
    }
    if (value.length > size) return null
    out.set(value, offset + size - value.length)
    at += 2 + length
  }
  return at === der.length ? out : null
}

/** A user's id as WebAuthn's user handle: the 16 bytes of the UUID, nothing personal (§14.6.1). */
export function userHandle(userId: string): string {
  const hex = userId.replace(/-/g, '')
  return base64url(Uint8Array.from(hex.match(/../g)!, (h) => Number.parseInt(h, 16)))
}
