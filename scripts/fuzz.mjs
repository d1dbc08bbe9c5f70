// `npm run fuzz -- --runs N [--seed S] [--only PATTERN]`: the property-based suite of
// test/fuzz with N requests per route (default 1000) and a seed (default: a new one, printed,
// so a failure can be replayed with --seed).
import { spawn } from 'node:child_process'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '1000' }, seed: { type: 'string' }, only: { type: 'string' } },
})
const seed = values.seed ?? String(Math.floor(Math.random() * 2 ** 31))
console.log(`fuzz: ${values.runs} runs per route, seed ${seed}`)
const started = Date.now()
const args = ['node_modules/vitest/vitest.mjs', 'run', 'test/fuzz', ...(values.only ? ['-t', values.only] : [])]
const child = spawn(process.execPath, args, {
  stdio: 'inherit',
  env: { ...process.env, FUZZ_RUNS: values.runs, FUZZ_SEED: seed },
})
child.on('exit', (code) => {
  console.log(`fuzz: ${((Date.now() - started) / 1000).toFixed(0)} s, seed ${seed}, exit ${code}`)
  process.exit(code ?? 1)
})
