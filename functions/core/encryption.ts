import { base64url, fromBase64url, randomBytes } from './crypto'

/**
 * The keys for data encrypted at rest (TOTP secrets). The first key of the configuration
 * encrypts; every key decrypts, so a new key can be put first while rows written under the
 * old one still open.
 */
export interface DataKeys {
  current: { kid: string; key: CryptoKey }
  byKid: Map<string, CryptoKey>
}

const KEY_BYTES = 32 // AES-256
const IV_BYTES = 12 // NIST SP 800-38D §8.2: 96-bit random IVs

/**
 * Loads `DATA_ENCRYPTION_KEYS`: a JSON array of `{kid, key}`, each key 32 bytes in base64url.
 * Throws on anything unusable, so a misconfigured Worker refuses to serve rather than
 * writing secrets it could not read back.
 */
export async function loadDataKeys(json: string): Promise<DataKeys> {
  let entries: unknown
  try {
    entries = JSON.parse(json)
  } catch {
    throw new Error('DATA_ENCRYPTION_KEYS must be a JSON array of {kid, key}')
  }
  if (!Array.isArray(entries) || entries.length === 0)
    throw new Error('DATA_ENCRYPTION_KEYS must be a non-empty JSON array of {kid, key}')
  const byKid = new Map<string, CryptoKey>()
  let current: DataKeys['current'] | undefined
  for (const entry of entries) {
    const { kid, key } = (entry ?? {}) as { kid?: unknown; key?: unknown }
    if (typeof kid !== 'string' || kid === '') throw new Error('every key in DATA_ENCRYPTION_KEYS needs a kid')
    if (byKid.has(kid)) throw new Error(`duplicate kid in DATA_ENCRYPTION_KEYS: ${kid}`)
    if (typeof key !== 'string' || !/^[A-Za-z0-9_-]+$/.test(key) || fromBase64url(key).length !== KEY_BYTES)
      throw new Error(`DATA_ENCRYPTION_KEYS key ${kid} must be ${KEY_BYTES} bytes in base64url`)
    const cryptoKey = await crypto.subtle.importKey('raw', fromBase64url(key), 'AES-GCM', false, ['encrypt', 'decrypt'])
    byKid.set(kid, cryptoKey)
    current ??= { kid, key: cryptoKey }
  }
  return { current: current!, byKid }
}

/**
 * AES-256-GCM. `context` is bound as additional data (the owner's id): a ciphertext copied
 * onto another row does not decrypt there.
 */
export async function encrypt(keys: DataKeys, plaintext: Uint8Array, context: string): Promise<{ kid: string; ciphertext: string }> {
  const iv = randomBytes(IV_BYTES)
  const sealed = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(context) },
    keys.current.key,
    plaintext,
  )
  const out = new Uint8Array(IV_BYTES + sealed.byteLength)
  out.set(iv)
  out.set(new Uint8Array(sealed), IV_BYTES)
  return { kid: keys.current.kid, ciphertext: base64url(out) }
}

/** Throws when the key is unknown or the ciphertext was altered: both are faults, not user errors. */
export async function decrypt(keys: DataKeys, kid: string, ciphertext: string, context: string): Promise<Uint8Array> {
  const key = keys.byKid.get(kid)
  if (!key) throw new Error(`no data encryption key with kid ${kid}; was it removed from DATA_ENCRYPTION_KEYS?`)
  const bytes = fromBase64url(ciphertext)
  const plain = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: bytes.subarray(0, IV_BYTES), additionalData: new TextEncoder().encode(context) },
    key,
    bytes.subarray(IV_BYTES),
  )
  return new Uint8Array(plain)
}
