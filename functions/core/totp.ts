import { TokenError } from '@otplib/core'
import { ScureBase32Plugin } from '@otplib/plugin-base32-scure'
import { WebCryptoPlugin } from '@otplib/plugin-crypto-web'
import { generate, verify } from '@otplib/totp'
import { generateTOTP } from '@otplib/uri'
import { renderSVG } from 'uqr'
import { randomBytes } from './crypto'

// RFC 6238 with the parameters every authenticator app assumes: SHA-1, 6 digits, 30 s.
export const TOTP_PERIOD_SECONDS = 30
export const TOTP_DIGITS = 6
// RFC 4226 §4 R6 recommends 160 bits of key for HMAC-SHA-1.
export const TOTP_SECRET_BYTES = 20

const cryptoPlugin = new WebCryptoPlugin()
const base32 = new ScureBase32Plugin()

export const newTotpSecret = (): Uint8Array => randomBytes(TOTP_SECRET_BYTES)

export const base32Encode = (secret: Uint8Array): string => base32.encode(secret, { padding: false })

const epochSeconds = (at: Date) => Math.floor(at.getTime() / 1000)

/** The RFC 6238 time step T of a moment. */
export const timeStepAt = (at: Date): number => Math.floor(epochSeconds(at) / TOTP_PERIOD_SECONDS)

/** The code an authenticator shows at `at`. */
export function totpCode(secret: Uint8Array, at: Date): Promise<string> {
  return generate({ secret, crypto: cryptoPlugin, epoch: epochSeconds(at), period: TOTP_PERIOD_SECONDS, digits: TOTP_DIGITS })
}

/**
 * Checks a code at `now`, one step of drift either way (RFC 6238 §5.2), refusing every step
 * at or before `afterTimeStep` (the last one accepted: a code works once). Returns the
 * matched time step, to be stored as the new `afterTimeStep`, or null.
 */
export async function verifyTotp(
  secret: Uint8Array,
  code: string,
  now: Date,
  afterTimeStep: number | null,
): Promise<number | null> {
  // otplib throws when afterTimeStep is past the window; then no code can be newer anyway.
  if (afterTimeStep !== null && afterTimeStep > timeStepAt(now) + 1) return null
  try {
    const result = await verify({
      secret,
      token: code,
      crypto: cryptoPlugin,
      epoch: epochSeconds(now),
      period: TOTP_PERIOD_SECONDS,
      digits: TOTP_DIGITS,
      epochTolerance: TOTP_PERIOD_SECONDS,
      afterTimeStep: afterTimeStep ?? undefined,
    })
    return result.valid ? result.timeStep : null
  } catch (error) {
    if (error instanceof TokenError) return null
    throw error
  }
}

/** The Key URI an authenticator app reads from the QR code: `otpauth://totp/Issuer:label?...`. */
export function totpUri(secret: Uint8Array, issuer: string, label: string): string {
  return generateTOTP({
    issuer,
    label,
    secret: base32Encode(secret),
    algorithm: 'sha1',
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
  })
}

/** A QR code of `text` as an SVG data URL, drawn here: the secret never leaves for a QR service. */
export function qrCodeDataUrl(text: string): string {
  const svg = renderSVG(text, { ecc: 'M', border: 2 })
  return `data:image/svg+xml;base64,${btoa(svg)}`
}
