// The WebSocket→Postgres relay (scripts/relay.mjs) in a process of its own, so that relaying
// both Workers' database traffic does not share an event loop with the load generator.
//   node bench/lib/relay-process.mjs <postgres port>   prints {"wsProxy": "..."} when ready
import { startRelay } from '../../scripts/relay.mjs'

const relay = await startRelay({ target: { host: '127.0.0.1', port: Number(process.argv[2]) } })
process.stdout.write(`${JSON.stringify({ wsProxy: relay.wsProxy })}\n`)
process.on('SIGTERM', async () => {
  await relay.close()
  process.exit(0)
})
