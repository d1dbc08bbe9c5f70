import { hashToken, randomBytes } from './crypto'

export const RECOVERY_CODE_COUNT = 10

// Crockford's base32: no I, L, O or U, so nothing reads as 1 or 0 by mistake. 32 symbols
// are 5 bits each; 16 of them are 80 bits, written as four groups of four.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
const SYMBOLS = 16
const GROUP = 4

/** One code, e.g. `7QHM-2XKD-9VNC-A4TE`. */
function newRecoveryCode(): string {
  // 256 is a multiple of 32: the low five bits of a random byte are uniform.
  const symbols = Array.from(randomBytes(SYMBOLS), (b) => ALPHABET[b & 31]!).join('')
  return symbols.match(new RegExp(`.{${GROUP}}`, 'g'))!.join('-')
}

/** A new set, shown to the user once; only their hashes are kept. */
export const newRecoveryCodes = (): string[] => Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode)

/**
 * The canonical form of what a user typed, or null if it cannot be a recovery code.
 * Forgiving as Crockford intends: any case, hyphens or spaces anywhere, O read as 0 and
 * I or L as 1.
 */
export function normalizeRecoveryCode(input: string): string | null {
  // ASCII only: Unicode case mapping would let other letters pass as ours ('ı' → 'I').
  if (input.length > 64 || !/^[\x20-\x7e]*$/.test(input)) return null
  const compact = input
    .replace(/[- ]/g, '')
    .toUpperCase()
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1')
  if (compact.length !== SYMBOLS) return null
  for (const ch of compact) if (!ALPHABET.includes(ch)) return null
  return compact
}

/**
 * How a code is stored. A fast hash suffices (as for tokens): 80 random bits cannot be
 * searched offline, unlike a password.
 */
export const hashRecoveryCode = (canonical: string): Promise<string> => hashToken(`recovery:${canonical}`)
