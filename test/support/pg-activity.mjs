// Straight to the server with `pg`, not through the relay and the fault proxy: the
// database's own view of who is connected, by a connection the proxy never sees.
import pg from 'pg'

/**
 * The server processes connected to database `name`, counted by state (`idle`, `active`,
 * `idle in transaction`, …).
 * @param {string} serverUrl a URL of the server (its `postgres` database is fine)
 * @param {string} name
 * @returns {Promise<Record<string, number>>}
 */
export async function backendsOf(serverUrl, name) {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    const { rows } = await client.query(
      "select coalesce(state, '') as state, count(*)::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid() group by 1",
      [name],
    )
    return Object.fromEntries(rows.map((r) => [r.state, r.n]))
  } finally {
    await client.end()
  }
}
