// `npm run secrets`: a new Worker's JWT_KEYS (an RS256 signing key) and DATA_ENCRYPTION_KEYS,
// generated here and put through `wrangler secret put`, without a value ever on screen, in a
// shell history or in a file. Refuses to replace a secret the Worker already has: a new
// JWT_KEYS would sign everyone out (rotate with `npm run keys:rotate`), a new
// DATA_ENCRYPTION_KEYS would make every stored TOTP secret unreadable.
//
//   npm run secrets                       # put the missing ones (wrangler secret put)
//   npm run secrets -- --env staging      # for a wrangler environment
//   npm run -s secrets -- --print | npx wrangler secret bulk   # JSON, for a pipe
import { fileURLToPath } from 'node:url'
import { generateDataKey, generateSigningKey } from './dev-vars.mjs'
import { parseFlags, putSecret, secretNames } from './wrangler-secrets.mjs'

export const NAMES = ['JWT_KEYS', 'DATA_ENCRYPTION_KEYS']

export async function generateSecrets() {
  return { JWT_KEYS: JSON.stringify([await generateSigningKey()]), DATA_ENCRYPTION_KEYS: JSON.stringify([generateDataKey()]) }
}

async function main(argv) {
  const flags = parseFlags(argv)
  const secrets = await generateSecrets()
  if (flags.print) {
    process.stdout.write(`${JSON.stringify(secrets)}\n`)
    return
  }
  const existing = await secretNames(flags.env)
  const present = NAMES.filter((name) => existing.has(name))
  for (const name of present)
    console.error(
      `${name} is already set: left as it is (${name === 'JWT_KEYS' ? 'npm run keys:rotate adds a key' : 'replacing it would lose every stored TOTP secret'}).`,
    )
  for (const name of NAMES.filter((n) => !existing.has(n))) {
    await putSecret(name, secrets[name], flags.env)
    console.error(`${name} set.`)
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(error.message)
    process.exit(1)
  })
}
