import { Argon2Type, Argon2Version } from '@phi-ag/argon2'
import type Argon2 from '@phi-ag/argon2'

/**
 * OWASP Password Storage Cheat Sheet, argon2id minimum: m=19 MiB, t=2, p=1.
 * The parameters live inside each stored PHC string, so raising them later only needs a
 * rehash at the next login (see `needsRehash`).
 */
export const PASSWORD_HASH_PARAMS = { memoryCost: 19 * 1024, timeCost: 2, parallelism: 1 } as const

export const PASSWORD_MIN_LENGTH = 8
export const PASSWORD_MAX_LENGTH = 256

// NIST 800-63B §5.1.1.2: apply Unicode normalization so the same password typed on two
// keyboards hashes the same. No truncation, no case folding.
const normalize = (password: string) => password.normalize('NFKC')

export function hashPassword(argon2: Argon2, password: string): string {
  return argon2.hash(normalize(password), {
    ...PASSWORD_HASH_PARAMS,
    hashLength: 32,
    type: Argon2Type.Argon2id,
    version: Argon2Version.Version13,
  }).encoded
}

/** Never throws: a malformed stored hash simply does not verify. */
export function verifyPassword(argon2: Argon2, password: string, encoded: string): boolean {
  return argon2.tryVerify(encoded, normalize(password), Argon2Type.Argon2id).success
}

/** True when a stored hash was made with weaker parameters than today's. */
export function needsRehash(encoded: string): boolean {
  const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(encoded)
  if (!match) return true
  const [m, t, p] = match.slice(1).map(Number) as [number, number, number]
  return (
    m < PASSWORD_HASH_PARAMS.memoryCost || t < PASSWORD_HASH_PARAMS.timeCost || p < PASSWORD_HASH_PARAMS.parallelism
  )
}

/**
 * The hash of a random password nobody kept, made once with today's parameters (the salt and
 * the hash are not secrets: no password verifies against it). Verifying an unknown email's
 * login against it costs the same time as a real account's, so timing does not reveal
 * accounts; and it is a constant, so the first unknown-email login of an isolate does not
 * pay a second argon2 run to make it. Replace it whenever PASSWORD_HASH_PARAMS change (a test
 * holds them equal).
 */
export const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$wwC56tI/Bgn0JSJx2sapUg$3AE0531SHcOB5V57oJtEMeAvHnsqF0xehu42kO/7CKs'
