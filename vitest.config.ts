import { readFileSync } from 'node:fs'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  plugins: [
    {
      // wrangler turns `import wasm from 'x.wasm'` into a compiled WebAssembly.Module; do the
      // same in Node so the code under test is the code that ships.
      name: 'wasm-module',
      enforce: 'pre',
      load(id) {
        if (!id.endsWith('.wasm')) return null
        const bytes = readFileSync(id).toString('base64')
        return `export default new WebAssembly.Module(Buffer.from(${JSON.stringify(bytes)}, 'base64'))`
      },
    },
  ],
  test: {
    // npm test: what passes on a fresh clone with only Node and npm. The suites that need
    // more are other commands (vitest.postgres.config.ts: npm run test:postgres).
    include: ['test/{unit,db,api,worker,fuzz,scripts}/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Two cores: more workers than that only makes argon2 and PGlite fight for CPU.
    maxWorkers: 2,
    // Inline so the .wasm import goes through the plugin above instead of Node's loader.
    server: { deps: { inline: ['@phi-ag/argon2'] } },
  },
})
