import { webcrypto } from 'node:crypto'

// A software authenticator and client: what a browser and a passkey do, written from the
// W3C Web Authentication spec, sharing no code with the server. Its own key pairs, its own
// CBOR, real signatures; each knob below is a way a hostile or broken client can differ.

const subtle = webcrypto.subtle as SubtleCrypto

export const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url')
const fromB64url = (text: string) => new Uint8Array(Buffer.from(text, 'base64url'))
const utf8 = (text: string) => new TextEncoder().encode(text)
const sha256 = async (bytes: Uint8Array) => new Uint8Array(await subtle.digest('SHA-256', bytes))

// ---- CBOR (RFC 8949), the subset attestation objects and COSE keys use ----

type Cbor = number | string | Uint8Array | Cbor[] | Map<number | string, Cbor>

function head(major: number, n: number): number[] {
  if (n < 24) return [(major << 5) | n]
  if (n < 0x100) return [(major << 5) | 24, n]
  if (n < 0x10000) return [(major << 5) | 25, n >> 8, n & 0xff]
  return [(major << 5) | 26, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]
}

export function cbor(value: Cbor): Uint8Array {
  const out: number[] = []
  const put = (v: Cbor) => {
    if (typeof v === 'number') out.push(...(v >= 0 ? head(0, v) : head(1, -1 - v)))
    else if (typeof v === 'string') {
      const bytes = utf8(v)
      out.push(...head(3, bytes.length), ...bytes)
    } else if (v instanceof Uint8Array) out.push(...head(2, v.length), ...v)
    else if (Array.isArray(v)) {
      out.push(...head(4, v.length))
      v.forEach(put)
    } else {
      out.push(...head(5, v.size))
      for (const [k, item] of v) {
        put(k)
        put(item)
      }
    }
  }
  put(value)
  return Uint8Array.from(out)
}

// ---- ASN.1 DER for ECDSA signatures (WebAuthn §6.5.6: ES256 signatures are DER) ----

function derInteger(bytes: Uint8Array): number[] {
  let i = 0
  while (i < bytes.length - 1 && bytes[i] === 0) i++
  const body = [...bytes.subarray(i)]
  if (body[0]! & 0x80) body.unshift(0)
  return [0x02, body.length, ...body]
}

const derSignature = (rs: Uint8Array) => {
  const body = [...derInteger(rs.subarray(0, 32)), ...derInteger(rs.subarray(32))]
  return Uint8Array.from([0x30, body.length, ...body])
}

// ---- the authenticator ----

export type Algorithm = 'ES256' | 'RS256' | 'EdDSA'

const COSE_ALG: Record<Algorithm, number> = { ES256: -7, RS256: -257, EdDSA: -8 }

async function generate(algorithm: Algorithm): Promise<{ keys: CryptoKeyPair; cose: Uint8Array }> {
  if (algorithm === 'ES256') {
    const keys = (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair
    const jwk = (await subtle.exportKey('jwk', keys.publicKey)) as JsonWebKey
    // RFC 9053 §7.1.1: kty 2 (EC2), alg -7, crv 1 (P-256), x, y
    const cose = cbor(
      new Map<number, Cbor>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, fromB64url(jwk.x!)],
        [-3, fromB64url(jwk.y!)],
      ]),
    )
    return { keys, cose }
  }
  if (algorithm === 'RS256') {
    const keys = (await subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['sign', 'verify'],
    )) as CryptoKeyPair
    const jwk = (await subtle.exportKey('jwk', keys.publicKey)) as JsonWebKey
    // RFC 8230 §4: kty 3 (RSA), alg -257, n, e
    const cose = cbor(
      new Map<number, Cbor>([
        [1, 3],
        [3, -257],
        [-1, fromB64url(jwk.n!)],
        [-2, fromB64url(jwk.e!)],
      ]),
    )
    return { keys, cose }
  }
  const keys = (await subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair
  const x = new Uint8Array((await subtle.exportKey('raw', keys.publicKey)) as ArrayBuffer)
  // RFC 9053 §7.2: kty 1 (OKP), alg -8, crv 6 (Ed25519), x
  const cose = cbor(
    new Map<number, Cbor>([
      [1, 1],
      [3, -8],
      [-1, 6],
      [-2, x],
    ]),
  )
  return { keys, cose }
}

async function sign(algorithm: Algorithm, key: CryptoKey, data: Uint8Array): Promise<Uint8Array> {
  if (algorithm === 'ES256') return derSignature(new Uint8Array(await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, data)))
  if (algorithm === 'RS256') return new Uint8Array(await subtle.sign({ name: 'RSASSA-PKCS1-v1_5' }, key, data))
  return new Uint8Array(await subtle.sign({ name: 'Ed25519' }, key, data))
}

export interface StoredCredential {
  id: Uint8Array
  algorithm: Algorithm
  keys: CryptoKeyPair
  cose: Uint8Array
  rpId: string
  userHandle: string
  signCount: number
}

/** What a client can get wrong, or lie about, in one ceremony. */
export interface Tamper {
  origin?: string
  rpId?: string
  type?: string
  challenge?: string
  crossOrigin?: boolean
  userPresent?: boolean
  userVerified?: boolean
  /** The counter to report, instead of the next one. */
  signCount?: number
  /** Sign with another key than the credential's. */
  wrongKey?: boolean
  /** Report this id instead of the credential's. */
  id?: string
  userHandle?: string | null
  /** Registration: create the credential under this id (an authenticator reusing one). */
  credentialId?: Uint8Array
}

export interface AuthenticatorOptions {
  origin: string
  algorithm?: Algorithm
  /** Synced passkeys report 0 forever; hardware keys count up. */
  counter?: 'increment' | 'zero'
  userVerified?: boolean
}

export interface CreationOptionsJSON {
  rp: { id?: string; name: string }
  user: { id: string; name: string; displayName: string }
  challenge: string
  pubKeyCredParams: { type: string; alg: number }[]
  excludeCredentials?: { id: string; type: string }[]
}

export interface RequestOptionsJSON {
  challenge: string
  rpId?: string
  allowCredentials?: { id: string; type: string }[]
}

export function softwareAuthenticator(options: AuthenticatorOptions) {
  const credentials: StoredCredential[] = []
  const algorithm = options.algorithm ?? 'ES256'

  async function authenticatorData(rpId: string, counter: number, tamper: Tamper, attested?: { id: Uint8Array; cose: Uint8Array }): Promise<Uint8Array> {
    const up = tamper.userPresent ?? true
    const uv = tamper.userVerified ?? options.userVerified ?? true
    // §6.1 flags: UP 0x01, UV 0x04, BE 0x08, BS 0x10, AT 0x40
    const synced = options.counter === 'zero'
    const flags = (up ? 0x01 : 0) | (uv ? 0x04 : 0) | (synced ? 0x18 : 0) | (attested ? 0x40 : 0)
    const parts: Uint8Array[] = [await sha256(utf8(tamper.rpId ?? rpId)), Uint8Array.of(flags), new Uint8Array(4)]
    new DataView(parts[2]!.buffer).setUint32(0, counter)
    if (attested) {
      const length = new Uint8Array(2)
      new DataView(length.buffer).setUint16(0, attested.id.length)
      parts.push(new Uint8Array(16), length, attested.id, attested.cose) // AAGUID zero: no attestation
    }
    return new Uint8Array(Buffer.concat(parts))
  }

  const clientData = (type: string, challenge: string, tamper: Tamper) =>
    utf8(
      JSON.stringify({
        type: tamper.type ?? type,
        challenge: tamper.challenge ?? challenge,
        origin: tamper.origin ?? options.origin,
        crossOrigin: tamper.crossOrigin ?? false,
      }),
    )

  function nextCount(credential: StoredCredential, tamper: Tamper) {
    if (tamper.signCount !== undefined) return tamper.signCount
    if (options.counter === 'zero') return 0
    return ++credential.signCount
  }

  return {
    credentials,

    /** navigator.credentials.create() followed by credential.toJSON(). */
    async register(creation: CreationOptionsJSON, tamper: Tamper = {}) {
      const rpId = creation.rp.id ?? new URL(options.origin).hostname
      if (!creation.pubKeyCredParams.some((p) => p.alg === COSE_ALG[algorithm])) throw new Error(`${algorithm} not offered`)
      const { keys, cose } = await generate(algorithm)
      const id = tamper.credentialId ?? webcrypto.getRandomValues(new Uint8Array(16))
      const credential: StoredCredential = { id, algorithm, keys, cose, rpId, userHandle: creation.user.id, signCount: 0 }
      const initialCount = tamper.signCount ?? 0
      const authData = await authenticatorData(rpId, initialCount, tamper, { id, cose })
      const attestationObject = cbor(
        new Map<string, Cbor>([
          ['fmt', 'none'],
          ['attStmt', new Map()],
          ['authData', authData],
        ]),
      )
      credentials.push(credential)
      return {
        credential,
        json: {
          id: tamper.id ?? b64url(id),
          rawId: tamper.id ?? b64url(id),
          type: 'public-key',
          response: {
            clientDataJSON: b64url(clientData('webauthn.create', creation.challenge, tamper)),
            attestationObject: b64url(attestationObject),
            transports: ['internal', 'hybrid'],
          },
          authenticatorAttachment: 'platform',
          clientExtensionResults: {},
        },
      }
    },

    /** navigator.credentials.get() with one of this authenticator's credentials, then toJSON(). */
    async authenticate(request: RequestOptionsJSON, tamper: Tamper = {}, credential = credentials[0]!) {
      const rpId = request.rpId ?? credential.rpId
      const authData = await authenticatorData(rpId, nextCount(credential, tamper), tamper)
      const clientDataJSON = clientData('webauthn.get', request.challenge, tamper)
      const signed = new Uint8Array(Buffer.concat([authData, await sha256(clientDataJSON)]))
      const key = tamper.wrongKey ? (await generate(credential.algorithm)).keys.privateKey : credential.keys.privateKey
      const signature = await sign(credential.algorithm, key, signed)
      const userHandle = tamper.userHandle === undefined ? credential.userHandle : tamper.userHandle
      return {
        id: tamper.id ?? b64url(credential.id),
        rawId: tamper.id ?? b64url(credential.id),
        type: 'public-key',
        response: {
          clientDataJSON: b64url(clientDataJSON),
          authenticatorData: b64url(authData),
          signature: b64url(signature),
          ...(userHandle !== null && { userHandle }),
        },
        authenticatorAttachment: 'platform',
        clientExtensionResults: {},
      }
    },
  }
}

export type SoftwareAuthenticator = ReturnType<typeof softwareAuthenticator>
