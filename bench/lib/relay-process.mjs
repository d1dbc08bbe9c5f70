// The relay (scripts/relay.mjs: WebSocket→Postgres and Neon's SQL-over-HTTP endpoint) in a
// process of its own, so that relaying both Workers' database traffic does not share an event
// loop with the load generator.
//   node bench/lib/relay-process.mjs <postgres port>   prints {"wsProxy": "..."} when ready
// A line `delay <ms>` on stdin sets the delay of a far-away database (--db-rtt), answered by
// `delay <ms> set` on stdout.
import { createInterface } from 'node:readline'
import { startRelay } from '../../scripts/relay.mjs'

const relay = await startRelay({ target: { host: '127.0.0.1', port: Number(process.argv[2]) } })
process.stdout.write(`${JSON.stringify({ wsProxy: relay.wsProxy })}\n`)
createInterface({ input: process.stdin }).on('line', (line) => {
  const ms = /^delay (\d+)$/.exec(line.trim())?.[1]
  if (ms === undefined) return
  relay.setDelay(Number(ms))
  process.stdout.write(`delay ${ms} set\n`)
})
process.on('SIGTERM', async () => {
  await relay.close()
  process.exit(0)
})
