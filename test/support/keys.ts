import { exportJWK, generateKeyPair } from 'jose'
import type { JWK } from 'jose'

let rsa: Promise<{ private: JWK; public: JWK }> | undefined

/** One RSA key pair per test process (generating one takes ~100 ms). */
export function testRsaKey(kid = 'test-rs256'): Promise<{ private: JWK; public: JWK }> {
  rsa ??= generateKeyPair('RS256', { extractable: true }).then(async ({ privateKey, publicKey }) => ({
    private: await exportJWK(privateKey),
    public: await exportJWK(publicKey),
  }))
  return rsa.then((k) => ({ private: { ...k.private, kid, alg: 'RS256' }, public: { ...k.public, kid, alg: 'RS256' } }))
}

export const TEST_ISSUER = 'https://gatehouse.test'

/** A fixed AES-256 key for data encrypted at rest in tests (32 bytes, base64url). */
export const TEST_DATA_KEY = { kid: 'test-data-1', key: 'dGVzdC1vbmx5LWRhdGEta2V5LTMyLWJ5dGVzLWxvbmc' }
