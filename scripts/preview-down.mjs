// `npm run preview:down -- --branch X`: deletes the Preview X (all its deployments and secrets)
// and its Neon branch preview/X. Either may already be gone; both are tried.
//   --keep-database   delete only the Preview
// Environment: as for preview:up (NEON_API_KEY, NEON_PROJECT_ID; CLOUDFLARE_API_TOKEN, ...).
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { databaseBranchName, neonFromEnv, previewName, wrangler } from './preview.mjs'

/**
 * @param {{ branch: string, keepDatabase?: boolean, env?: Record<string, string | undefined>,
 *   fetch?: typeof fetch, log?: (line: string) => void }} options
 * @returns {Promise<{ name: string, failures: string[] }>}
 */
export async function previewDown({ branch, keepDatabase = false, env = process.env, fetch, log = () => {} }) {
  const name = previewName(branch)
  const failures = []
  try {
    await wrangler(['preview', 'delete', '--name', name, '--skip-confirmation'], { env })
    log(`Deleted the Preview ${name}`)
  } catch (error) {
    failures.push(`the Preview ${name}: ${error.message}`)
  }
  if (!keepDatabase) {
    const branchName = databaseBranchName(name)
    try {
      const neon = neonFromEnv(env, fetch)
      const found = await neon.findBranch(branchName)
      if (found) {
        await neon.deleteBranch(found.id)
        log(`Deleted Neon branch ${branchName}`)
      } else {
        log(`No Neon branch ${branchName}`)
      }
    } catch (error) {
      failures.push(`Neon branch ${branchName}: ${error.message}`)
    }
  }
  return { name, failures }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { branch: { type: 'string' }, 'keep-database': { type: 'boolean', default: false } } })
  if (!values.branch) {
    console.error('usage: npm run preview:down -- --branch X [--keep-database]')
    process.exit(2)
  }
  const { failures } = await previewDown({ branch: values.branch, keepDatabase: values['keep-database'], log: console.log })
  for (const failure of failures) console.error(`preview:down could not delete ${failure}`)
  process.exit(failures.length ? 1 : 0)
}
