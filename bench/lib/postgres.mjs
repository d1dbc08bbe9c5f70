import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { atExit, freePort, start, waitFor } from './processes.mjs'

const INSTALL_HINT = `PostgreSQL was not found. The bench needs a real Postgres server binary (not a running service):
  Debian/Ubuntu:  sudo apt-get update && sudo apt-get install -y postgresql
  Fedora:         sudo dnf install postgresql-server
  macOS:          brew install postgresql@15
or set PG_BIN to the folder holding initdb and postgres.`

function findBin() {
  const candidates = []
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN)
  if (existsSync('/usr/lib/postgresql')) {
    const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a))
    candidates.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin`))
  }
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim())
  } catch {}
  candidates.push('/usr/local/bin', '/usr/bin', '/opt/homebrew/bin')
  const bin = candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')))
  if (!bin) throw new Error(INSTALL_HINT)
  return bin
}

/** Postgres refuses to run as root: as root, run it as the `postgres` user. */
function asServerUser() {
  if (process.getuid?.() !== 0) return { wrap: (cmd, args) => [cmd, args], uid: undefined }
  let uid, gid
  try {
    uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }))
    gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }))
  } catch {
    throw new Error('Running as root, and there is no `postgres` user to run the server as. Run the bench as a normal user.')
  }
  return { wrap: (cmd, args) => ['runuser', ['-u', 'postgres', '--', cmd, ...args]], uid, gid }
}

function accepting(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy()
      resolve(true)
    })
    socket.on('error', () => resolve(false))
  })
}

/**
 * A throwaway Postgres cluster in a temp dir on 127.0.0.1 (trust auth, a free port), one
 * database per name. Durability is off (fsync, synchronous_commit): the bench measures the
 * Workers, not this machine's disk, and both sides get the same server.
 */
export async function startPostgres(databases) {
  const bin = findBin()
  const user = asServerUser()
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-pg-'))
  atExit(() => rmSync(dir, { recursive: true, force: true }))
  if (user.uid !== undefined) {
    chmodSync(dir, 0o700)
    chownSync(dir, user.uid, user.gid)
  }
  const data = join(dir, 'data')
  const [initCmd, initArgs] = user.wrap(join(bin, 'initdb'), ['-D', data, '-U', 'bench', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'])
  execFileSync(initCmd, initArgs, { stdio: 'pipe' })

  const port = await freePort()
  const [cmd, args] = user.wrap(join(bin, 'postgres'), [
    '-D', data, '-p', String(port), '-k', dir,
    '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200',
    '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
  ])
  const server = start('postgres', cmd, args)
  await waitFor('Postgres to accept connections', () => accepting(port), { entry: server, timeoutMs: 30_000 })
  // The postmaster's own pid (runuser sits in between): stopping it is a fast shutdown.
  const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0])
  atExit(() => {
    try {
      process.kill(pid, 'SIGINT')
    } catch {}
  })
  for (const name of databases) {
    await waitFor(`database ${name}`, () => {
      execFileSync(join(bin, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'bench', name], { stdio: 'pipe' })
      return true
    }, { timeoutMs: 10_000 })
  }
  const version = execFileSync(join(bin, 'postgres'), ['--version'], { encoding: 'utf8' }).trim()
  /**
   * Connections ever opened to database `name` (pg_stat_database.sessions, Postgres ≥ 14),
   * read from the `postgres` database so that asking does not count. A backend's stats are
   * flushed when it exits, and each request's connection exits with the request.
   */
  const sessions = (name) => {
    const out = execFileSync(join(bin, 'psql'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'bench', '-d', 'postgres', '-Atc',
      `select sessions from pg_stat_database where datname = '${name}'`], { encoding: 'utf8' })
    return Number(out.trim())
  }
  return { port, version, sessions, url: (name) => `postgres://bench@127.0.0.1:${port}/${name}` }
}
