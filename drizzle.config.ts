import { defineConfig } from 'drizzle-kit'

// Only `drizzle-kit generate` is used: migrations are applied by scripts/migrate.mjs through
// the same Neon driver the Worker uses, so no second Postgres driver is needed.
export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema.ts',
  out: './db/migrations',
})
