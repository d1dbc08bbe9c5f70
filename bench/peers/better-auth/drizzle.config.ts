// The SQL for Better Auth's tables, from src/schema.ts (which `npx auth generate` wrote
// from src/auth.ts). Regenerate with: ../../../node_modules/.bin/drizzle-kit generate
export default {
  dialect: 'postgresql',
  schema: './src/schema.ts',
  out: './drizzle',
}
