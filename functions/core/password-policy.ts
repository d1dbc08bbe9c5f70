import commonPasswordList from './common-passwords'
import type { PwnedPasswordsConfig } from '../config/passwords'
import { validationFailed } from './errors'
import type { Services } from './services'

// NIST 800-63B §5.1.1.2: a new password SHALL be checked against passwords from previous
// breaches, dictionary words and context-specific words (the service's or the user's name).

let common: Set<string> | undefined

/** How a password is compared with lists and names: as it is hashed (NFKC), and case-blind. */
const comparable = (value: string) => value.normalize('NFKC').toLowerCase()

/** The bundled list: each line is one character (code 48 + n: shares n characters with the line before) and the rest. */
function decodeList(text: string): Set<string> {
  const words = new Set<string>()
  let previous = ''
  for (const line of text.split('\n')) {
    previous = previous.slice(0, line.charCodeAt(0) - 48) + line.slice(1)
    words.add(previous)
  }
  return words
}

/** True for one of the 10,000 most common passwords long enough to pass our length rule. */
export function isCommonPassword(password: string): boolean {
  common ??= decodeList(commonPasswordList)
  return common.has(comparable(password))
}

/** The user's own words that must not be their password: the email, its local part, the name. */
function contextWords(context: { email?: string; fullName?: string }): string[] {
  const words: string[] = []
  if (context.email) {
    const email = comparable(context.email.trim())
    words.push(email, email.slice(0, email.lastIndexOf('@')))
  }
  if (context.fullName) {
    const name = comparable(context.fullName.trim())
    words.push(name, name.replace(/\s+/g, ''))
  }
  return words.filter((w) => w.length > 0)
}

/**
 * Have I Been Pwned's k-anonymity range query: only the first 5 hex digits of the password's
 * SHA-1 leave the Worker. Time-bounded and fail-open: an unreachable or slow service means
 * "not known to be breached", never a refused registration.
 */
export async function isPwnedPassword(s: Pick<Services, 'fetch'>, config: PwnedPasswordsConfig, password: string): Promise<boolean> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-1', new TextEncoder().encode(password.normalize('NFKC'))))
  const hex = [...digest]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase()
  try {
    const res = await s.fetch(`${config.url}${hex.slice(0, 5)}`, {
      // Padding hides, from someone watching the wire, how many suffixes came back.
      headers: { 'Add-Padding': 'true', 'User-Agent': 'gatehouse' },
      signal: AbortSignal.timeout(config.timeoutMs),
    })
    if (!res.ok) return false
    const suffix = hex.slice(5)
    for (const line of (await res.text()).split('\n')) {
      const [candidate, count] = line.trim().split(':')
      // Padding lines carry a count of 0.
      if (candidate === suffix && Number(count) > 0) return true
    }
    return false
  } catch {
    return false
  }
}

/**
 * Refuses (422, on `field`) a new password that is common, is the user's email, its local
 * part or their name, or, when configured, is known to Have I Been Pwned. Call it before
 * hashing: a refused password costs no argon2 time.
 */
export async function checkNewPassword(s: Services, password: string, context: { field: string; email?: string; fullName?: string }): Promise<void> {
  const refuse = (message: string) => validationFailed([{ field: context.field, message }])
  if (isCommonPassword(password)) throw refuse('is too common')
  if (contextWords(context).includes(comparable(password))) throw refuse('must not be your email address or name')
  const pwned = s.config.pwnedPasswords
  if (pwned && (await isPwnedPassword(s, pwned, password))) throw refuse('appears in a known data breach')
}
