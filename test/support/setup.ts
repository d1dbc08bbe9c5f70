import { afterAll, beforeAll, expect } from 'vitest'
import { closeTestDatabases, testDatabase } from './app'
import { leakedSecrets } from './logs'

// An API test file's database (PGlite or Postgres, behind the relay) starts in a hook, under
// the hook timeout, rather than inside whichever test happens to run first.
// biome-ignore lint/correctness/noEmptyPattern: vitest reads the first argument as fixtures and wants a pattern; the suite comes second
beforeAll(({}, suite) => {
  const file = (suite as { filepath?: string }).filepath ?? ''
  if (/[\\/]test[\\/](api|postgres)[\\/]/.test(file) && !/(unavailable|worker|faults)\.test\.ts$/.test(file)) return testDatabase().then(() => {})
})
afterAll(closeTestDatabases)

// The redaction check of the whole suite: no password, token, code, key or email that a test
// of this file sent or received appears in anything the app logged.
afterAll(() => {
  expect(leakedSecrets()).toEqual([])
})
