import type { LockoutRule } from '../../db/queries/rate-limits'
import type { Bindings } from './bindings'
import { count } from './values'

/** At most `limit` hits per fixed window of `windowSeconds`. */
export interface WindowPolicy {
  limit: number
  windowSeconds: number
}

/**
 * Consecutive failures of one secret (a password, a 2FA code) for one account: free up to
 * `lockAfterFailures`, then a lock of `baseLockSeconds` doubling with each further failure
 * up to `maxLockSeconds`; after `hardLimit` failures (at most 100, NIST 800-63B §5.2.2)
 * no attempt is admitted until a success or a password reset calls `resetFailures`.
 */
export type LockoutPolicy = LockoutRule

/** The actions limited per client IP. */
export type ClientAction = 'login' | 'register' | 'oauth' | 'refresh' | 'two_factor' | 'password_reset'

export interface RateLimitConfig {
  perIp: Record<ClientAction, WindowPolicy>
  /** Password-reset mails asked for one address: a mailbox must not be flooded. */
  passwordForgotPerEmail: WindowPolicy
  /** Invitations sent by one user, and by everyone in one organization: each is a mail to any address. */
  invitationsPerUser: WindowPolicy
  invitationsPerOrg: WindowPolicy
  /** Verification mails one user may ask for again. */
  verifyEmailResendPerUser: WindowPolicy
  /** Failed passwords per account (login, password change). */
  lockout: LockoutPolicy
  /**
   * Failed 2FA codes per account, on a counter of their own that a right password does not
   * reset. Its first lock comes later than the password's because each 2FA challenge
   * already dies after 5 wrong codes; the lock lengths and the hard limit are the same.
   */
  twoFactorLockout: LockoutPolicy
}

export const NIST_MAX_CONSECUTIVE_FAILURES = 100

export const DEFAULT_RATE_LIMITS: RateLimitConfig = {
  perIp: {
    login: { limit: 20, windowSeconds: 60 },
    register: { limit: 10, windowSeconds: 3600 },
    oauth: { limit: 20, windowSeconds: 60 },
    refresh: { limit: 60, windowSeconds: 60 },
    two_factor: { limit: 20, windowSeconds: 60 },
    password_reset: { limit: 10, windowSeconds: 900 },
  },
  passwordForgotPerEmail: { limit: 3, windowSeconds: 3600 },
  invitationsPerUser: { limit: 10, windowSeconds: 3600 },
  invitationsPerOrg: { limit: 20, windowSeconds: 3600 },
  verifyEmailResendPerUser: { limit: 3, windowSeconds: 3600 },
  lockout: { lockAfterFailures: 5, baseLockSeconds: 30, maxLockSeconds: 900, hardLimit: NIST_MAX_CONSECUTIVE_FAILURES },
  twoFactorLockout: { lockAfterFailures: 10, baseLockSeconds: 30, maxLockSeconds: 900, hardLimit: NIST_MAX_CONSECUTIVE_FAILURES },
}

function window(value: string | undefined, fallback: WindowPolicy, name: string): WindowPolicy {
  if (value === undefined || value === '') return fallback
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*s?\s*$/.exec(value)
  if (!match || Number(match[1]) <= 0 || Number(match[2]) <= 0) throw new Error(`${name} must be "<requests>/<seconds>", e.g. "20/60"`)
  return { limit: Number(match[1]), windowSeconds: Number(match[2]) }
}

const PER_IP_VARS: Record<ClientAction, keyof Bindings> = {
  login: 'RATE_LIMIT_LOGIN_PER_IP',
  register: 'RATE_LIMIT_REGISTER_PER_IP',
  oauth: 'RATE_LIMIT_OAUTH_PER_IP',
  refresh: 'RATE_LIMIT_REFRESH_PER_IP',
  two_factor: 'RATE_LIMIT_TWO_FACTOR_PER_IP',
  password_reset: 'RATE_LIMIT_PASSWORD_RESET_PER_IP',
}

/** The RATE_LIMIT_* and LOCKOUT_* settings over the defaults; throws on a value that cannot be meant. */
export function rateLimits(env: Bindings): RateLimitConfig {
  const d = DEFAULT_RATE_LIMITS
  const perIp = {} as RateLimitConfig['perIp']
  for (const [action, name] of Object.entries(PER_IP_VARS) as [ClientAction, keyof Bindings][]) perIp[action] = window(env[name], d.perIp[action], name)
  const lockout = {
    lockAfterFailures: count(env.LOCKOUT_AFTER_FAILURES, d.lockout.lockAfterFailures, 'LOCKOUT_AFTER_FAILURES'),
    baseLockSeconds: count(env.LOCKOUT_BASE_SECONDS, d.lockout.baseLockSeconds, 'LOCKOUT_BASE_SECONDS'),
    maxLockSeconds: count(env.LOCKOUT_MAX_SECONDS, d.lockout.maxLockSeconds, 'LOCKOUT_MAX_SECONDS'),
    // NIST 800-63B §5.2.2: no more than 100 consecutive failed attempts on one account.
    hardLimit: count(env.LOCKOUT_HARD_LIMIT, d.lockout.hardLimit, 'LOCKOUT_HARD_LIMIT', NIST_MAX_CONSECUTIVE_FAILURES),
  }
  const twoFactorLockout = {
    ...lockout,
    lockAfterFailures: count(
      env.LOCKOUT_TWO_FACTOR_AFTER_FAILURES,
      // A lowered hard limit lowers the default with it; only an explicit value can conflict.
      Math.min(d.twoFactorLockout.lockAfterFailures, lockout.hardLimit),
      'LOCKOUT_TWO_FACTOR_AFTER_FAILURES',
    ),
  }
  if (lockout.lockAfterFailures > lockout.hardLimit) throw new Error('LOCKOUT_AFTER_FAILURES must not exceed LOCKOUT_HARD_LIMIT')
  if (twoFactorLockout.lockAfterFailures > lockout.hardLimit) throw new Error('LOCKOUT_TWO_FACTOR_AFTER_FAILURES must not exceed LOCKOUT_HARD_LIMIT')
  if (lockout.baseLockSeconds > lockout.maxLockSeconds) throw new Error('LOCKOUT_BASE_SECONDS must not exceed LOCKOUT_MAX_SECONDS')
  return {
    perIp,
    passwordForgotPerEmail: window(env.RATE_LIMIT_PASSWORD_FORGOT_PER_EMAIL, d.passwordForgotPerEmail, 'RATE_LIMIT_PASSWORD_FORGOT_PER_EMAIL'),
    invitationsPerUser: window(env.RATE_LIMIT_INVITATIONS_PER_USER, d.invitationsPerUser, 'RATE_LIMIT_INVITATIONS_PER_USER'),
    invitationsPerOrg: window(env.RATE_LIMIT_INVITATIONS_PER_ORG, d.invitationsPerOrg, 'RATE_LIMIT_INVITATIONS_PER_ORG'),
    verifyEmailResendPerUser: window(env.RATE_LIMIT_VERIFY_EMAIL_RESEND_PER_USER, d.verifyEmailResendPerUser, 'RATE_LIMIT_VERIFY_EMAIL_RESEND_PER_USER'),
    lockout,
    twoFactorLockout,
  }
}
