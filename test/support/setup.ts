import { afterAll, expect } from 'vitest'
import { closeTestDatabases } from './app'
import { leakedSecrets } from './logs'

afterAll(closeTestDatabases)

// The redaction check of the whole suite: no password, token, code, key or email that a test
// of this file sent or received appears in anything the app logged.
afterAll(() => {
  expect(leakedSecrets()).toEqual([])
})
