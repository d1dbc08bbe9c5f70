import { createHmac } from 'node:crypto'

/**
 * A reference TOTP, written from RFC 6238 and RFC 4226 over node:crypto alone, so the server's
 * codes (otplib over Web Crypto) are checked against code that shares nothing with them.
 * test/unit/totp.test.ts holds it to the RFC's own vectors.
 */

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** RFC 4648 §6 base32, padding and case ignored. */
export function base32Decode(text: string): Buffer {
  const bytes: number[] = []
  let bits = 0
  let value = 0
  for (const char of text.toUpperCase().replace(/=+$/, '')) {
    const index = BASE32.indexOf(char)
    if (index < 0) throw new Error(`not base32: ${char}`)
    value = (value << 5) | index
    bits += 5
    if (bits >= 8) {
      bits -= 8
      bytes.push((value >>> bits) & 0xff)
    }
  }
  return Buffer.from(bytes)
}

/** RFC 4226 §5.3: HMAC over the 8-byte big-endian counter, dynamic truncation, modulo 10^digits. */
type Hash = 'sha1' | 'sha256' | 'sha512'

export function hotp(key: Buffer, counter: number, digits = 6, algorithm: Hash = 'sha1'): string {
  const message = Buffer.alloc(8)
  message.writeBigUInt64BE(BigInt(counter))
  const mac = createHmac(algorithm, key).update(message).digest()
  const offset = mac[mac.length - 1]! & 0x0f
  const binary = mac.readUInt32BE(offset) & 0x7fffffff
  return String(binary % 10 ** digits).padStart(digits, '0')
}

/** RFC 6238 §4.2: T = floor((unix time − T0) / X), T0 = 0. */
export function totp(key: Buffer, at: Date, { stepSeconds = 30, digits = 6, algorithm = 'sha1' as Hash } = {}): string {
  return hotp(key, Math.floor(at.getTime() / 1000 / stepSeconds), digits, algorithm)
}

/** The code (SHA-1, 6 digits, 30 s) an authenticator app shows for a base32 secret at a moment. */
export const referenceTotp = (base32Secret: string, at: Date): string => totp(base32Decode(base32Secret), at)
