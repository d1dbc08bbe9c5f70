// `npm run keys:rotate`: the next JWT_KEYS, without logging anyone out. Cloudflare secrets
// are write-only, so the current set comes from a file or standard input. As docs/operations.md
// describes: a new signing key goes first (it signs from the next deploy on), the previous
// signer stays as its public half only (RS256; an HS256 secret stays whole), so tokens it
// signed verify until they expire; keys retired by an earlier rotation are kept unless
// --drop-retired (do that once ACCESS_TOKEN_TTL has passed since they stopped signing).
//
//   npm run keys:rotate -- --from keys.json                    # wrangler secret put JWT_KEYS
//   npm run -s keys:rotate -- --from keys.json --print > next.json
//   cat keys.json | npm run -s keys:rotate -- --print --drop-retired
//   curl -s https://auth.example.com/.well-known/jwks.json | npm run -s keys:rotate   # RS256
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { generateSigningKey } from './dev-vars.mjs'
import { parseFlags, putSecret } from './wrangler-secrets.mjs'

const PRIVATE_RSA = ['d', 'p', 'q', 'dp', 'dq', 'qi']
const isPrivate = (jwk) => jwk.kty === 'oct' || PRIVATE_RSA.some((name) => name in jwk)
const publicHalf = (jwk) => Object.fromEntries(Object.entries(jwk).filter(([name]) => !PRIVATE_RSA.includes(name)))

/**
 * The rotated set: `[next signer, previous signer (public half), ...earlier retired keys]`.
 * The current signer is the one the Worker picks without JWT_SIGNING_KID: the first key that
 * can sign, or, in a public set (the keys of GET /.well-known/jwks.json, which lists JWT_KEYS
 * in order), the first key. An RS256 rotation needs no private key: only public halves stay.
 */
export async function rotate(input, { dropRetired = false } = {}) {
  const current = Array.isArray(input?.keys) ? input.keys : input
  if (!Array.isArray(current) || current.length === 0 || !current.every((k) => k && typeof k === 'object' && k.kid))
    throw new Error('the current JWT_KEYS must be a non-empty JSON array of JWKs (or a JWK Set), each with a kid')
  const signer = current.find(isPrivate) ?? current[0]
  const hs256 = signer.kty === 'oct'
  const next = hs256
    ? { kty: 'oct', kid: `hs-${randomBytes(6).toString('base64url')}`, k: randomBytes(32).toString('base64url'), alg: 'HS256' }
    : await generateSigningKey()
  const previous = hs256 ? signer : publicHalf(signer)
  const retired = current.filter((key) => key !== signer).map((key) => (hs256 ? key : publicHalf(key)))
  return { keys: [next, previous, ...(dropRetired ? [] : retired)], next, previous, retired }
}

async function readCurrent(from) {
  if (from && from !== '-') return readFileSync(from, 'utf8')
  if (process.stdin.isTTY) throw new Error('give the current JWT_KEYS with --from <file>, or on standard input')
  let text = ''
  for await (const chunk of process.stdin) text += chunk
  return text
}

async function main(argv) {
  const flags = parseFlags(argv)
  let current
  try {
    current = JSON.parse(await readCurrent(flags.from))
  } catch (error) {
    throw new Error(error instanceof SyntaxError ? 'the current JWT_KEYS is not valid JSON' : error.message)
  }
  const { keys, next, previous, retired } = await rotate(current, flags)
  const value = JSON.stringify(keys)
  if (flags.print) process.stdout.write(`${value}\n`)
  else await putSecret('JWT_KEYS', value, flags.env)
  console.error(`New signing key ${next.kid}; ${previous.kid} now only verifies the tokens it signed.`)
  if (retired.length)
    console.error(
      `${flags.dropRetired ? 'Dropped' : 'Kept'} earlier keys: ${retired.map((k) => k.kid).join(', ')}${flags.dropRetired ? '' : ' (--drop-retired once ACCESS_TOKEN_TTL has passed)'}.`,
    )
  if (!flags.print && next.kty === 'oct') console.error('Keep the new set where you keep the old one: Cloudflare will not show it again (use --print).')
  else if (!flags.print) console.error('The next rotation can start from the public keys: curl -s <your URL>/.well-known/jwks.json | npm run -s keys:rotate')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(error.message)
    process.exit(1)
  })
}
