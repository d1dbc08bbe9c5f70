import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { drizzle } from 'drizzle-orm/pglite'
import { migrate } from 'drizzle-orm/pglite/migrator'
import { describe, expect, it } from 'vitest'
import journal from '../../db/migrations/meta/_journal.json'

describe('migration 0002 (account ownership)', () => {
  it('releases the addresses held by accounts whose provider never vouched for them, and only those', async () => {
    // The database as it was before 0002: only the migrations that came before it.
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-0002-'))
    const before = journal.entries.filter((e) => e.idx < 2)
    cpSync('db/migrations', dir, { recursive: true })
    writeFileSync(join(dir, 'meta/_journal.json'), JSON.stringify({ ...journal, entries: before }))
    const pg = await PGlite.create()
    try {
      const db = drizzle({ client: pg })
      await migrate(db, { migrationsFolder: dir })
      await pg.exec(`
        insert into users (email, email_normalized, full_name, is_verified, oauth_provider) values
          ('victim@example.com', 'victim@example.com', 'planted by facebook', false, 'facebook'),
          ('proven@example.com', 'proven@example.com', 'google, verified', true, 'google'),
          ('local@example.com', 'local@example.com', 'registered, unverified', false, 'local')`)
      await migrate(db, { migrationsFolder: 'db/migrations' })
      const { rows } = await pg.query<{ email: string; owns_email: boolean }>('select email, owns_email from users order by email')
      expect(rows).toEqual([
        { email: 'local@example.com', owns_email: true },
        { email: 'proven@example.com', owns_email: true },
        { email: 'victim@example.com', owns_email: false },
      ])
      // The address is free again: its owner can register it.
      await pg.exec(`insert into users (email, email_normalized, full_name) values ('victim@example.com', 'victim@example.com', 'the owner')`)
    } finally {
      await pg.close()
      rmSync(dir, { recursive: true, force: true })
    }
    // PGlite's initdb takes seconds, many more on a busy machine.
  }, 120_000)
})
