import type { Bindings } from './bindings'
import { count } from './values'

export interface PwnedPasswordsConfig {
  /** The range endpoint, ending before the 5-character prefix. */
  url: string
  timeoutMs: number
}

/** PWNED_PASSWORDS_*: null (the default) when the check is off. */
export function pwnedPasswords(env: Bindings): PwnedPasswordsConfig | null {
  const check = env.PWNED_PASSWORDS_CHECK || 'off'
  if (check !== 'on' && check !== 'off') throw new Error('PWNED_PASSWORDS_CHECK must be "on" or "off"')
  if (check === 'off') return null
  return {
    url: env.PWNED_PASSWORDS_URL || 'https://api.pwnedpasswords.com/range/',
    timeoutMs: count(env.PWNED_PASSWORDS_TIMEOUT_MS, 1000, 'PWNED_PASSWORDS_TIMEOUT_MS', 10_000),
  }
}
