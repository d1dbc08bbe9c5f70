import type { RelyingParty } from '../core/passkeys-webauthn'

/** The WEBAUTHN_* and PASSKEY_* settings, and the two they default from. */
export interface PasskeyBindings {
  APP_URL?: string
  JWT_KEYS?: string
  /** The relying party id: the site's domain, e.g. `example.com` (default APP_URL's host). */
  WEBAUTHN_RP_ID?: string
  /** The exact origins the browser may report (JSON array or comma-separated; default APP_URL's origin). */
  WEBAUTHN_ORIGINS?: string
  /** The name browsers show for the relying party (default "Gatehouse"). */
  WEBAUTHN_RP_NAME?: string
  /** `preferred` (default: a passkey without user verification is one factor) or `required`. */
  WEBAUTHN_USER_VERIFICATION?: string
  /** Seconds after a full sign-in during which a passkey may be added without the password (default 600; 0: no rule). */
  PASSKEY_REAUTH_SECONDS?: string
}

export interface PasskeyConfig {
  rp: RelyingParty
  /** A passkey may be added this long after the session's last full sign-in without the password; null: always. */
  reauthSeconds: number | null
  /** Keys the stand-in credential ids answered for an email that has no passkeys. */
  decoyKey: CryptoKey
}

export const DEFAULT_PASSKEY_REAUTH_SECONDS = 600

const LOCALHOST = new Set(['localhost', '127.0.0.1', '[::1]'])

function origins(value: string | undefined, fallback: string): string[] {
  const text = value?.trim() || fallback
  let list: unknown = text.startsWith('[') ? undefined : text.split(',').map((o) => o.trim())
  if (list === undefined) {
    try {
      list = JSON.parse(text)
    } catch {
      throw new Error('WEBAUTHN_ORIGINS is not valid JSON')
    }
  }
  if (!Array.isArray(list) || list.length === 0) throw new Error('WEBAUTHN_ORIGINS must list origins')
  for (const origin of list) {
    let url: URL | undefined
    try {
      url = new URL(String(origin))
    } catch {}
    // Compared exactly with what browsers write into clientDataJSON: scheme://host[:port], nothing more.
    if (!url || url.origin !== origin) throw new Error(`WEBAUTHN_ORIGINS: "${origin}" is not an origin like https://app.example.com`)
    if (url.protocol !== 'https:' && !LOCALHOST.has(url.hostname)) throw new Error(`WEBAUTHN_ORIGINS: ${origin} must be https`)
  }
  return list as string[]
}

/**
 * Parses the relying party. Defaults follow APP_URL: its host is the RP ID, its origin the
 * one origin allowed. Every origin's host must be the RP ID or a subdomain of it
 * (WebAuthn §5.1.4.1), or browsers would refuse every ceremony anyway.
 */
export async function passkeyConfig(env: PasskeyBindings): Promise<PasskeyConfig> {
  const app = new URL(env.APP_URL || 'http://localhost:8001')
  const id = (env.WEBAUTHN_RP_ID?.trim() || app.hostname).toLowerCase()
  if (!/^[a-z0-9.-]+$/.test(id) || id.startsWith('.') || id.endsWith('.')) throw new Error('WEBAUTHN_RP_ID must be a domain name, e.g. example.com')
  const allowed = origins(env.WEBAUTHN_ORIGINS, app.origin)
  for (const origin of allowed) {
    const host = new URL(origin).hostname
    if (host !== id && !host.endsWith(`.${id}`)) throw new Error(`WEBAUTHN_ORIGINS: ${origin} is not within WEBAUTHN_RP_ID ${id}`)
  }
  const uv = env.WEBAUTHN_USER_VERIFICATION || 'preferred'
  if (uv !== 'preferred' && uv !== 'required') throw new Error('WEBAUTHN_USER_VERIFICATION must be "preferred" or "required"')
  const reauth = env.PASSKEY_REAUTH_SECONDS?.trim()
  const reauthSeconds = reauth === undefined || reauth === '' ? DEFAULT_PASSKEY_REAUTH_SECONDS : Number(reauth)
  if (!Number.isInteger(reauthSeconds) || reauthSeconds < 0) throw new Error('PASSKEY_REAUTH_SECONDS must be a whole number of seconds (0 turns the rule off)')
  // A secret the operator already keeps, so decoys are stable per email and unguessable
  // without adding a setting: derived from JWT_KEYS, under a label of its own.
  const seed = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`gatehouse passkey decoys\0${env.JWT_KEYS ?? ''}`))
  const decoyKey = await crypto.subtle.importKey('raw', seed, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  return {
    rp: { id, name: env.WEBAUTHN_RP_NAME?.trim() || 'Gatehouse', origins: allowed, userVerification: uv },
    reauthSeconds: reauthSeconds === 0 ? null : reauthSeconds,
    decoyKey,
  }
}
