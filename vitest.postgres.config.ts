import { defineConfig } from 'vitest/config'
import base from './vitest.config.ts'

// npm run test:postgres (scripts/test-postgres.mjs sets TEST_DATABASE_URL): the races of
// test/postgres/, which only mean something on a server that runs requests at the same
// time, and the API and workerd suites once more on a real PostgreSQL.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/postgres/**/*.test.ts', 'test/db/**/*.test.ts', 'test/api/**/*.test.ts', 'test/worker/**/*.test.ts'],
    globalSetup: ['test/support/postgres-setup.ts'],
  },
})
