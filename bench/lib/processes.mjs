import { spawn } from 'node:child_process'
import { createServer } from 'node:net'

/** Everything the bench started, stopped by pid in reverse order on exit, failure or Ctrl-C. */
const running = []
const cleanups = []

/**
 * Starts a command in its own process group, so that stopping it by its pid also stops
 * the children it spawned (wrangler starts workerd).
 */
export function start(name, command, args, options = {}) {
  const { stdin = 'ignore', ...spawnOptions } = options
  const child = spawn(command, args, { ...spawnOptions, detached: true, stdio: [stdin, 'pipe', 'pipe'] })
  const entry = { name, child, output: '' }
  const keep = (chunk) => {
    entry.output = (entry.output + chunk).slice(-20_000)
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  running.push(entry)
  return entry
}

/** Registers a step to run at exit (after the processes are stopped), e.g. deleting a temp dir. */
export function atExit(fn) {
  cleanups.push(fn)
}

function exited(child) {
  return child.exitCode !== null || child.signalCode !== null
}

async function stop(entry) {
  const { child } = entry
  if (exited(child)) return
  const gone = new Promise((resolve) => child.once('exit', resolve))
  try {
    process.kill(-child.pid, 'SIGTERM')
  } catch {}
  const timer = new Promise((resolve) => setTimeout(resolve, 5_000, 'timeout'))
  if ((await Promise.race([gone, timer])) === 'timeout') {
    try {
      process.kill(-child.pid, 'SIGKILL')
    } catch {}
    await gone
  }
}

let stopping
export function stopAll() {
  stopping ??= (async () => {
    for (const entry of running.reverse()) await stop(entry)
    for (const fn of cleanups.reverse()) {
      try {
        await fn()
      } catch (error) {
        console.error(`cleanup failed: ${error.message}`)
      }
    }
  })()
  return stopping
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    console.error(`\n${signal}: stopping everything the bench started…`)
    await stopAll()
    process.exit(130)
  })
}

const handedOut = new Set()

const bindable = (port) =>
  new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })

/**
 * A TCP port free on 127.0.0.1 a moment ago. Drawn below Linux's ephemeral range
 * (32768–60999): a port the kernel hands to `listen(0)` could go to workerd's own
 * internal sockets in the moment before wrangler binds it (seen as a 501 from workerd).
 * Never one this process already handed out.
 */
export async function freePort() {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000)
    if (!handedOut.has(port) && (await bindable(port))) {
      handedOut.add(port)
      return port
    }
  }
}

/** Polls `check` until it returns a truthy value; fails with the process's output. */
export async function waitFor(what, check, { timeoutMs = 60_000, entry } = {}) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const value = await check()
      if (value) return value
    } catch {}
    if (entry && exited(entry.child)) throw new Error(`${entry.name} exited while waiting for ${what}:\n${entry.output}`)
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${entry ? `:\n${entry.output}` : ''}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
