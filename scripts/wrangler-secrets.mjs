// Shared by `npm run secrets` and `npm run keys:rotate`: talking to `wrangler secret` (the
// `wrangler` on PATH; under npm run that is node_modules/.bin's), and their flags.
import { spawn } from 'node:child_process'

/** `--print`, `--env <name>`, `--from <file>` and bare flags, from argv. */
export function parseFlags(argv) {
  const flags = { print: false, env: undefined, from: undefined, dropRetired: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--print') flags.print = true
    else if (arg === '--drop-retired') flags.dropRetired = true
    else if (arg === '--env' || arg === '--from') flags[arg.slice(2)] = argv[++i]
    else if (arg.startsWith('--env=') || arg.startsWith('--from=')) flags[arg.slice(2, arg.indexOf('='))] = arg.slice(arg.indexOf('=') + 1)
    else throw new Error(`unknown argument: ${arg}`)
  }
  return flags
}

/** Runs `wrangler <args>`, the value (if any) on its standard input; resolves with stdout. */
export function wrangler(args, { env, input } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn('wrangler', [...args, ...(env ? ['--env', env] : [])], { stdio: ['pipe', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (chunk) => (out += chunk))
    child.on('error', (error) => reject(new Error(`could not run wrangler: ${error.message}`)))
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`wrangler ${args.slice(0, 2).join(' ')} exited with ${code}`))))
    // The secret travels on stdin only: never in argv (visible to every process) or a file.
    child.stdin.end(input ?? '')
  })
}

/** The names of the Worker's secrets (values are write-only at Cloudflare). */
export async function secretNames(env) {
  const out = await wrangler(['secret', 'list', '--format', 'json'], { env })
  const list = JSON.parse(out.slice(out.indexOf('[')))
  return new Set(list.map((secret) => secret.name))
}

export const putSecret = (name, value, env) => wrangler(['secret', 'put', name], { env, input: value })
