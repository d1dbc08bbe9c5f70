// `npm run preview:up -- --branch X`: a Worker Preview of this checkout, on a Neon branch of its
// own, with keys of its own. Run again on the same branch, it reuses both (and the keys).
//
//   --branch X           the git branch or PR (the workflow passes pr-<number>); names the Preview
//                        X and its Neon branch preview/X
//   --from B             the Neon branch to start from (default NEON_PREVIEW_PARENT, else
//                        "staging": a schema-only or seeded branch, never production's data)
//   --schema-only        copy B's schema and none of its rows (safe even from production)
//   --rotate-secrets     generate fresh JWT_KEYS and DATA_ENCRYPTION_KEYS even on a reused branch
//
// Environment: NEON_API_KEY, NEON_PROJECT_ID (and NEON_API_HOST, NEON_DATABASE, NEON_ROLE);
// CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID for wrangler. DB_WS_PROXY reaches a local
// Postgres through scripts/relay.mjs, as in tests. Prints the Preview URL; under GitHub Actions
// also writes `name`, `url` and `database_branch` to $GITHUB_OUTPUT.
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { generateDevSecrets } from './dev-vars.mjs'
import { migrate } from './migrate.mjs'
import { databaseBranchName, neonFromEnv, previewName, wrangler } from './preview.mjs'

/**
 * @param {{ branch: string, from?: string, schemaOnly?: boolean, rotateSecrets?: boolean,
 *   env?: Record<string, string | undefined>, fetch?: typeof fetch, log?: (line: string) => void }} options
 */
export async function previewUp({ branch, from, schemaOnly = false, rotateSecrets = false, env = process.env, fetch, log = () => {} }) {
  const name = previewName(branch)
  const database = await databaseBranch({ name, from: from || env.NEON_PREVIEW_PARENT || 'staging', schemaOnly, env, fetch, log })

  log(`Migrating ${new URL(database.url).host}`)
  await migrate({ url: database.url, wsProxy: env.DB_WS_PROXY })

  // Keys are made once per database: a new deployment inherits the secrets it is not given, so
  // sessions, tokens and encrypted 2FA secrets survive a push. DATABASE_URL is always current.
  let keys = database.created || rotateSecrets ? await generateDevSecrets() : null
  log(keys ? 'New JWT_KEYS and DATA_ENCRYPTION_KEYS for this Preview' : 'Keeping the Preview’s keys')

  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-preview-'))
  try {
    const deploy = async (url, secrets) => {
      // APP_URL (mail links) and JWT_ISSUER are the Preview's own URL: its tokens name it, and a
      // deployment checking `iss` refuses them.
      const args = ['preview', '--name', name, '--json']
      if (secrets) {
        // JSON, not dotenv: in a dotenv secrets file wrangler lets the process environment
        // override the file (a developer's exported DATABASE_URL would win), in JSON it does not.
        const file = join(dir, `secrets-${Date.now()}.json`)
        await writeFile(file, JSON.stringify(secrets), { mode: 0o600 })
        args.push('--secrets-file', file)
      }
      if (url) args.push('--var', `APP_URL:${url}`, '--var', `JWT_ISSUER:${url}`)
      return previewResultOf(await wrangler(args, { env }))
    }
    // The URL exists only once the Preview does: a first deployment learns it, and a second one
    // (seconds later, secrets inherited) hands it to the Worker.
    const known = env.PREVIEW_URL
    const first = await deploy(known, { DATABASE_URL: database.url, ...keys })
    // A reused branch whose Preview never got its keys (a first run that failed half-way, a
    // Preview deleted by hand) gets them now.
    const keyless = !keys && first.bindings !== null && !(first.bindings.has('JWT_KEYS') && first.bindings.has('DATA_ENCRYPTION_KEYS'))
    if (keyless) {
      log('The Preview holds no keys: new JWT_KEYS and DATA_ENCRYPTION_KEYS')
      keys = await generateDevSecrets()
    }
    if (first.url !== known || keyless) {
      log(`Setting APP_URL and JWT_ISSUER to ${first.url}`)
      const second = await deploy(first.url, keyless ? keys : null)
      if (second.url !== first.url) throw new Error('the Preview URL changed between two deployments')
    }
    return { name, url: first.url, databaseBranch: database.branch, created: database.created }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Create-or-reuse the Neon branch preview/<name>; its direct connection string. */
async function databaseBranch({ name, from, schemaOnly, env, fetch, log }) {
  const neon = neonFromEnv(env, fetch)
  const branchName = databaseBranchName(name)
  const role = env.NEON_ROLE || 'neondb_owner'
  let branch = await neon.findBranch(branchName)
  const created = !branch
  if (!branch) {
    const parent = await neon.findBranch(from)
    if (!parent) throw new Error(`Neon branch "${from}" not found: create a schema-only or seeded staging branch (docs/deploy.md), or name another with --from`)
    log(`Creating Neon branch ${branchName} from ${from}${schemaOnly ? ' (schema only)' : ''}`)
    branch = await neon.createBranch({ name: branchName, parentId: parent.id, schemaOnly })
    // The branch's role came with its parent's password, which staging shares with production
    // when staging was branched from it: a preview must hold a password of its own.
    await neon.resetPassword(branch.id, role)
  } else {
    log(`Reusing Neon branch ${branchName}`)
  }
  const url = await neon.connectionUri(branch.id, { database: env.NEON_DATABASE || undefined, role })
  return { url, created, branch: branchName }
}

/**
 * What `wrangler preview --json` reports ({ preview: { urls }, deployment: { env } }): the Preview
 * URL, and the names of the deployment's bindings (null when it does not list them).
 */
export function previewResultOf(stdout) {
  const json = /^\{[\s\S]*^\}/m.exec(stdout)?.[0]
  let result
  try {
    result = JSON.parse(json ?? '')
  } catch {
    throw new Error('wrangler preview printed no JSON result')
  }
  const url = result.preview?.urls?.[0]
  if (!url) throw new Error('the Preview has no URL: turn on workers.dev / Preview URLs for the Worker (docs/deploy.md)')
  const env = result.deployment?.env
  return { url: url.replace(/\/+$/, ''), bindings: env && typeof env === 'object' ? new Set(Object.keys(env)) : null }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      branch: { type: 'string' },
      from: { type: 'string' },
      'schema-only': { type: 'boolean', default: false },
      'rotate-secrets': { type: 'boolean', default: false },
    },
  })
  if (!values.branch) {
    console.error('usage: npm run preview:up -- --branch X [--from B] [--schema-only] [--rotate-secrets]')
    process.exit(2)
  }
  try {
    const preview = await previewUp({
      branch: values.branch,
      from: values.from,
      schemaOnly: values['schema-only'],
      rotateSecrets: values['rotate-secrets'],
      log: console.log,
    })
    console.log(`Preview ${preview.name}: ${preview.url}`)
    if (process.env.GITHUB_OUTPUT)
      await appendFile(process.env.GITHUB_OUTPUT, `name=${preview.name}\nurl=${preview.url}\ndatabase_branch=${preview.databaseBranch}\n`)
  } catch (error) {
    console.error(`preview:up failed: ${error.message}`)
    process.exit(1)
  }
}
