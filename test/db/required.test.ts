import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { allOrNothing, batch, openDatabase, required, rowsOf } from '../../db/client'
import type { RequestDatabase } from '../../db/client'
import { isRequirementUnmet } from '../../db/errors'
import { startTestPostgres } from '../support/postgres'
import type { TestPostgres } from '../support/postgres'

// A decision between the statements of one batch (db/client.ts `required`, migration 0007's
// gatehouse_require), through the real Neon driver and the relay's SQL-over-HTTP endpoint.
describe('a required change in a batch', () => {
  let pg: TestPostgres
  let db: RequestDatabase
  const labels = async () => rowsOf<{ id: number; label: string }>(await db.execute(sql`select id, label from required_test order by id`))

  beforeAll(async () => {
    pg = await startTestPostgres()
    db = openDatabase({ url: pg.url, localRelay: pg.wsProxy })
    await db.execute(sql`create table required_test (id int primary key, label text not null)`)
    await db.execute(sql`insert into required_test values (1, 'one'), (2, 'two')`)
  })
  afterAll(() => pg?.close())

  it('undoes the statements before it and skips those after it when its change did not happen', async () => {
    const done = await allOrNothing(db, [
      db.execute(sql`update required_test set label = 'changed' where id = 1`),
      required(db, sql`update required_test set label = 'missing' where id = 3 returning id`),
      db.execute(sql`update required_test set label = 'changed' where id = 2`),
    ])
    expect(done).toBeUndefined()
    expect(await labels()).toEqual([
      { id: 1, label: 'one' },
      { id: 2, label: 'two' },
    ])
  })

  it('lets the batch commit when its change happened, each statement seeing the ones before it', async () => {
    const done = await allOrNothing(db, [
      db.execute(sql`update required_test set label = 'first' where id = 1`),
      required(db, sql`update required_test set label = 'second' where id = 1 and label = 'first' returning id`),
      db.execute(sql`select label from required_test where id = 1`),
    ])
    expect(rowsOf(done![2])).toEqual([{ label: 'second' }])
    expect(await labels()).toEqual([
      { id: 1, label: 'second' },
      { id: 2, label: 'two' },
    ])
  })

  it('fails a plain batch with SQLSTATE GH001, which no other error carries', async () => {
    const error = await batch(db, [required(db, sql`delete from required_test where id = 3 returning id`)]).catch((e: unknown) => e)
    expect(isRequirementUnmet(error)).toBe(true)
    const unique = await batch(db, [db.execute(sql`insert into required_test values (2, 'again')`)]).catch((e: unknown) => e)
    expect(isRequirementUnmet(unique)).toBe(false)
  })
})
