import { neon, neonConfig } from '@neondatabase/serverless'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isUniqueViolation, sqlState } from '../../db/errors'
import { startTestPostgres } from '../support/postgres'
import type { TestPostgres } from '../support/postgres'

// The relay's SQL-over-HTTP endpoint (scripts/relay.mjs) through the real Neon driver, as
// the Worker reaches Neon in production: `neon()` and `transaction([...])` over fetch.
describe('the local Neon SQL-over-HTTP endpoint', () => {
  let db: TestPostgres
  let sql: ReturnType<typeof neon<false, false>>

  beforeAll(async () => {
    db = await startTestPostgres()
    neonConfig.fetchEndpoint = db.sqlEndpoint
    sql = neon(db.url)
    await sql`create table relay_test (id int primary key, label text not null)`
  })
  afterAll(() => db?.close())

  it('returns values of every type as the driver parses Neon’s answers', async () => {
    const [row] = await sql`
      select '2026-11-22T12:00:00.123Z'::timestamptz as at, '{"a":[1,"x"],"b":null}'::jsonb as doc,
        9007199254740993::bigint as big, 42::int as small, '\\x00ff10'::bytea as bytes,
        array[1, 2, 3]::int[] as ints, array['a', null, 'c,d']::text[] as texts,
        null::text as nothing, true as yes, 'é ✓'::text as unicode`
    expect(row).toEqual({
      at: new Date('2026-11-22T12:00:00.123Z'),
      doc: { a: [1, 'x'], b: null },
      big: '9007199254740993',
      small: 42,
      bytes: Buffer.from([0, 255, 16]),
      ints: [1, 2, 3],
      texts: ['a', null, 'c,d'],
      nothing: null,
      yes: true,
      unicode: 'é ✓',
    })
  })

  it('sends parameters of every type and gets them back unchanged', async () => {
    const at = new Date('2026-11-22T12:00:00.5Z')
    const bytes = Buffer.from([1, 2, 254])
    const [row] = await sql`select ${at}::timestamptz as at, ${bytes}::bytea as bytes, ${JSON.stringify({ k: 'v' })}::jsonb as doc,
      ${null}::int as nothing, ${[4, 5]}::int[] as ints, ${'9223372036854775807'}::bigint as big`
    expect(row).toEqual({ at, bytes, doc: { k: 'v' }, nothing: null, ints: [4, 5], big: '9223372036854775807' })
  })

  it('answers full results with fields and row counts (what drizzle-orm/neon-http reads)', async () => {
    const result = await sql.query('insert into relay_test (id, label) values ($1, $2), ($3, $4) returning id', [1, 'one', 2, 'two'], {
      fullResults: true,
      arrayMode: true,
    })
    expect(result.command).toBe('INSERT')
    expect(result.rowCount).toBe(2)
    expect(result.rows).toEqual([[1], [2]])
    expect(result.fields.map((f) => f.name)).toEqual(['id'])
  })

  it('reports a unique violation with its SQLSTATE and constraint, as our 409 path expects', async () => {
    await sql`insert into relay_test (id, label) values (10, 'ten')`
    const error = await sql`insert into relay_test (id, label) values (10, 'again')`.catch((e: unknown) => e)
    expect(isUniqueViolation(error)).toBe(true)
    expect(error).toMatchObject({ name: 'NeonDbError', code: '23505', constraint: 'relay_test_pkey', table: 'relay_test' })
  })

  it('reports a bad statement with its SQLSTATE, not as an unreachable database', async () => {
    const error = await sql`select * from no_such_table`.catch((e: unknown) => e)
    expect(sqlState(error)).toBe('42P01')
  })

  it('runs a batch as one transaction: a failure halfway writes nothing', async () => {
    const error = await sql
      .transaction([
        sql`insert into relay_test (id, label) values (20, 'first')`,
        sql`insert into relay_test (id, label) values (21, 'second')`,
        sql`insert into relay_test (id, label) values (20, 'duplicate')`,
      ])
      .catch((e: unknown) => e)
    expect(sqlState(error)).toBe('23505')
    expect(await sql`select id from relay_test where id in (20, 21)`).toEqual([])
  })

  it('returns every result of a batch, in order, each seeing the ones before it', async () => {
    const [inserted, counted] = await sql.transaction([
      sql`insert into relay_test (id, label) values (30, 'thirty') returning label`,
      sql`select count(*)::int as n from relay_test where id = 30`,
    ])
    expect(inserted).toEqual([{ label: 'thirty' }])
    expect(counted).toEqual([{ n: 1 }])
  })

  it('honours the batch isolation level, read-only and deferrable headers', async () => {
    const [[level], [readOnly], [deferrable]] = (await sql.transaction(
      [sql`show transaction_isolation`, sql`show transaction_read_only`, sql`show transaction_deferrable`],
      { isolationLevel: 'Serializable', readOnly: true, deferrable: true },
    )) as [Record<string, string>[], Record<string, string>[], Record<string, string>[]]
    expect([level, readOnly, deferrable]).toEqual([
      { transaction_isolation: 'serializable' },
      { transaction_read_only: 'on' },
      { transaction_deferrable: 'on' },
    ])
    const error = await sql.transaction([sql`insert into relay_test (id, label) values (40, 'no')`], { readOnly: true }).catch((e: unknown) => e)
    expect(sqlState(error)).toBe('25006') // read_only_sql_transaction
  })

  it('answers concurrent requests each with its own result', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => 100 + i)
    const written = await Promise.all(ids.map((id) => sql`insert into relay_test (id, label) values (${id}, ${`n${id}`}) returning label`))
    expect(written).toEqual(ids.map((id) => [{ label: `n${id}` }]))
    const read = await Promise.all(ids.map((id) => sql.transaction([sql`select ${id}::int as id`, sql`select label from relay_test where id = ${id}`])))
    expect(read).toEqual(ids.map((id) => [[{ id }], [{ label: `n${id}` }]]))
  })

  it('refuses a request without a connection string', async () => {
    const res = await fetch(db.sqlEndpoint, { method: 'POST', body: JSON.stringify({ query: 'select 1', params: [] }) })
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({ message: 'Neon-Connection-String is missing' })
  })
})
