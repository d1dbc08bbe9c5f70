import { defineConfig } from 'vitest/config'

// `npm run test:browser`: a real Chromium (Debian's, driven by playwright-core) against the
// Worker in workerd. Apart from `npm test`: it needs the `chromium` package on the machine.
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    maxWorkers: 1,
  },
})
