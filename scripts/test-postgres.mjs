// `npm run test:postgres [vitest args]`: the suites of vitest.postgres.config.ts on a real
// PostgreSQL. TEST_DATABASE_URL names a server to use (each test file creates and drops a
// database of its own there); without it, a throwaway cluster is started from the server
// binaries on 127.0.0.1 and removed afterwards.
import { execFileSync, spawn } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const INSTALL = 'sudo apt-get install -y postgresql'

/** The newest Debian/Ubuntu server binaries, or initdb on PATH (Homebrew, other distributions). */
function findServerBinaries() {
  const debian = '/usr/lib/postgresql'
  const versions = existsSync(debian)
    ? readdirSync(debian)
        .filter((v) => existsSync(join(debian, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : []
  if (versions.length) return join(debian, versions[0], 'bin')
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir
  }
  return null
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })

/** A cluster in a temporary folder, trust on 127.0.0.1 only, gone when stopped. */
async function startCluster(bin) {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-postgres-'))
  // Postgres refuses to run as root; as root, run it as the postgres user the package creates.
  const asRoot = process.getuid?.() === 0
  const run = (command, args) =>
    asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, command), ...args], { stdio: 'pipe' })
      : execFileSync(join(bin, command), args, { stdio: 'pipe' })
  if (asRoot) {
    const id = (flag) => Number(execFileSync('id', [flag, 'postgres']).toString())
    chownSync(dataDir, id('-u'), id('-g'))
  }
  const port = await freePort()
  const stop = () => {
    try {
      run('pg_ctl', ['-D', dataDir, '-m', 'immediate', 'stop'])
    } catch {
      // not running
    }
    rmSync(dataDir, { recursive: true, force: true })
  }
  try {
    run('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'])
    // fsync off: this cluster lives for one run. The socket goes in the data folder, not /run.
    const options = `-h 127.0.0.1 -p ${port} -k ${dataDir} -c fsync=off -c max_connections=200`
    run('pg_ctl', ['-D', dataDir, '-l', join(dataDir, 'server.log'), '-w', '-o', options, 'start'])
  } catch (error) {
    const output = `${error.stderr ?? ''}${error.stdout ?? ''}`.trim()
    stop()
    throw new Error(`Could not start PostgreSQL from ${bin}: ${output || error.message}`)
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, stop }
}

let url = process.env.TEST_DATABASE_URL
let cluster
if (!url) {
  const bin = findServerBinaries()
  if (!bin) {
    console.error(
      `npm run test:postgres needs a PostgreSQL server: install its binaries (Debian/Ubuntu: ${INSTALL}),\n` +
        'or set TEST_DATABASE_URL=postgres://user:password@host:port/db to a server where that user may create databases.',
    )
    process.exit(1)
  }
  try {
    cluster = await startCluster(bin)
  } catch (error) {
    console.error(error.message)
    process.exit(1)
  }
  console.log(`PostgreSQL (throwaway, from ${bin}) on ${new URL(cluster.url).host}`)
  url = cluster.url
}

// vitest's own entry under node rather than npx: a signal then reaches vitest itself.
const vitest = spawn(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'vitest.postgres.config.ts', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, TEST_DATABASE_URL: url },
})
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => vitest.kill(signal))
vitest.on('exit', (code, signal) => {
  cluster?.stop()
  process.exit(code ?? (signal ? 1 : 0))
})
