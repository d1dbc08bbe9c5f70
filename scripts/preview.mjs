// What `npm run preview:up` and `preview:down` share: names, the Neon branch, and wrangler.
import { spawn } from 'node:child_process'
import { neonApi } from './neon.mjs'

/**
 * The Preview's name for a git branch or PR: lowercase letters, digits and dashes, short enough
 * that `<name>-<worker>.<subdomain>.workers.dev` keeps its first label under DNS's 63 bytes.
 */
export function previewName(branch) {
  const name = String(branch ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 40)
    .replace(/^-+|-+$/g, '')
  if (!name) throw new Error(`--branch ${JSON.stringify(branch)} leaves no name for the Preview`)
  return name
}

/** The Neon branch of a preview: one namespace, so teardown never touches another branch. */
export const databaseBranchName = (name) => `preview/${name}`

/** Neon's API from the environment (NEON_API_KEY, NEON_PROJECT_ID, NEON_API_HOST). */
export const neonFromEnv = (env, fetch) => neonApi({ apiKey: env.NEON_API_KEY, projectId: env.NEON_PROJECT_ID, apiHost: env.NEON_API_HOST || undefined, fetch })

/**
 * Runs `wrangler` as found on PATH (npm scripts put node_modules/.bin first). Resolves with its
 * stdout; rejects with its exit status. stderr goes straight to ours.
 */
export function wrangler(args, { env = process.env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn('wrangler', args, { env, stdio: ['ignore', 'pipe', 'inherit'] })
    let stdout = ''
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk))
    child.on('error', (error) => reject(error.code === 'ENOENT' ? new Error('wrangler is not on PATH: run this through npm (npm run preview:up)') : error))
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`wrangler ${args.slice(0, 2).join(' ')} exited with status ${code}`))))
  })
}
