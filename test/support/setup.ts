import { afterAll, beforeAll } from 'vitest'
import { closeTestDatabases, testDatabase } from './app'

// An API test file's database (PGlite or Postgres, behind the relay) starts in a hook, under
// the hook timeout, rather than inside whichever test happens to run first.
beforeAll(({}, suite) => {
  const file = (suite as { filepath?: string }).filepath ?? ''
  if (/[\\/]test[\\/]api[\\/]/.test(file) && !file.endsWith('unavailable.test.ts')) return testDatabase().then(() => {})
})
afterAll(closeTestDatabases)
