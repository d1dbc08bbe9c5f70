// Turns off the 2FA of one account, for an operator with database access: the way back for
// the last owner of an organization who lost their authenticator and recovery codes (an
// owner resets other members' 2FA through POST /api/v1/org/members/{id}/2fa/reset).
// Every session of the account ends, and the audit log records the reset.
//   DATABASE_URL=... npm run 2fa:reset -- owner@example.com     (DB_WS_PROXY for a local relay)
import { fileURLToPath } from 'node:url'
import { Pool } from '@neondatabase/serverless'
import { useRelay } from './migrate.mjs'

/**
 * One statement: every part happens, or none. `query` is any Postgres client's
 * `(text, params) => Promise<{ rows }>`.
 * @param {(text: string, params: unknown[]) => Promise<{ rows: any[] }>} query
 * @param {string} email
 * @returns {Promise<{ found: boolean, reset: boolean, sessionsEnded: number }>}
 */
export async function resetTwoFactor(query, email) {
  // The form the unique index holds (db/queries/accounts.ts normalizeEmail).
  const normalized = email.trim().toLowerCase()
  const { rows } = await query(
    `with target as (
       select id, totp_enabled_at is not null as enabled from users where email_normalized = $1 and owns_email
     ), armed as (
       select id from target where enabled
     ), challenges as (
       delete from two_factor_challenges where user_id in (select id from armed)
     ), codes as (
       delete from recovery_codes where user_id in (select id from armed)
     ), locks as (
       delete from rate_limits where key in (select '2fa:user:' || id from armed)
     ), ended as (
       update sessions set revoked_at = now() where user_id in (select id from armed) and revoked_at is null returning id
     ), reset as (
       update users set totp_secret = null, totp_key_id = null, totp_enabled_at = null, totp_last_step = null, updated_at = now()
       where id in (select id from armed) returning id
     ), audited as (
       insert into auth_events (type, outcome, user_id, org_id, detail)
       select 'two_factor_reset', 'success', reset.id, m.org_id,
              jsonb_build_object('by', 'operator', 'sessions_ended', (select count(*) from ended))
       from reset left join memberships m on m.user_id = reset.id
     )
     select (select count(*) from target)::int as found, (select count(*) from reset)::int as reset,
            (select count(*) from ended)::int as sessions_ended`,
    [normalized],
  )
  const row = rows[0]
  return { found: row.found > 0, reset: row.reset > 0, sessionsEnded: row.sessions_ended }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const url = process.env.DATABASE_URL
  const email = process.argv[2]
  if (!url || !email) {
    console.error('usage: DATABASE_URL=... npm run 2fa:reset -- <email>')
    process.exit(1)
  }
  useRelay(process.env.DB_WS_PROXY)
  const pool = new Pool({ connectionString: url })
  pool.on('error', () => {})
  try {
    const result = await resetTwoFactor((text, params) => pool.query(text, params), email)
    if (!result.found) {
      console.error(`No account holds ${email}.`)
      process.exitCode = 1
    } else if (!result.reset) console.log(`2FA was not on for ${email}; nothing changed.`)
    else console.log(`2FA is off for ${email}; ${result.sessionsEnded} session(s) ended. They sign in with their password and can turn 2FA on again.`)
  } finally {
    await pool.end()
  }
}
