import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../functions/config'
import { DEFAULT_RATE_LIMITS } from '../../functions/config/rate-limits'
import { accountKey, clientKey, ipBucket } from '../../functions/core/rate-limit'
import { testBindings } from '../support/app'

describe('ipBucket', () => {
  it('keys IPv4 as is, IPv6 by its /64, IPv4-mapped IPv6 as IPv4, and no address as one shared bucket', () => {
    expect(ipBucket('203.0.113.7')).toBe('203.0.113.7')
    expect(ipBucket('2001:db8:85a3:8d3:1319:8a2e:370:7348')).toBe('2001:db8:85a3:8d3::/64')
    expect(ipBucket('2001:DB8:85A3:08D3::1')).toBe('2001:db8:85a3:8d3::/64')
    expect(ipBucket('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(ipBucket('::1')).toBe('0:0:0:0::/64')
    expect(ipBucket('::ffff:198.51.100.4')).toBe('198.51.100.4')
    expect(ipBucket(null)).toBe('unknown')
    expect(ipBucket('')).toBe('unknown')
  })

  it('puts two addresses of one /64 in one bucket', () => {
    expect(clientKey('login', '2001:db8:1:2::a')).toBe(clientKey('login', '2001:db8:1:2:ffff:ffff:ffff:ffff'))
    expect(clientKey('login', '2001:db8:1:2::a')).not.toBe(clientKey('login', '2001:db8:1:3::a'))
  })

  it('keys accounts by normalized email', () => {
    expect(accountKey('  Ada@Example.COM ')).toBe('login:account:ada@example.com')
  })
})

describe('rate limit configuration', () => {
  it('defaults to the documented limits', async () => {
    expect((await parseConfig(await testBindings())).rateLimits).toEqual(DEFAULT_RATE_LIMITS)
    expect(DEFAULT_RATE_LIMITS).toEqual({
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
      lockout: { lockAfterFailures: 5, baseLockSeconds: 30, maxLockSeconds: 900, hardLimit: 100 },
      twoFactorLockout: { lockAfterFailures: 10, baseLockSeconds: 30, maxLockSeconds: 900, hardLimit: 100 },
    })
  })

  it('reads "<requests>/<seconds>" windows and lockout numbers from the environment', async () => {
    const config = await parseConfig(
      await testBindings({ RATE_LIMIT_LOGIN_PER_IP: '50/300', RATE_LIMIT_OAUTH_PER_IP: ' 5 / 10s ', LOCKOUT_AFTER_FAILURES: '3', LOCKOUT_HARD_LIMIT: '50' }),
    )
    expect(config.rateLimits.perIp.login).toEqual({ limit: 50, windowSeconds: 300 })
    expect(config.rateLimits.perIp.oauth).toEqual({ limit: 5, windowSeconds: 10 })
    expect(config.rateLimits.lockout).toEqual({ lockAfterFailures: 3, baseLockSeconds: 30, maxLockSeconds: 900, hardLimit: 50 })
    expect(config.rateLimits.twoFactorLockout).toEqual({ lockAfterFailures: 10, baseLockSeconds: 30, maxLockSeconds: 900, hardLimit: 50 })
    const low = await parseConfig(await testBindings({ LOCKOUT_AFTER_FAILURES: '2', LOCKOUT_HARD_LIMIT: '6' }))
    expect(low.rateLimits.twoFactorLockout.lockAfterFailures).toBe(6)
  })

  it('refuses to start on a limit it cannot honour', async () => {
    const bad = async (env: Record<string, string>) => parseConfig(await testBindings(env))
    await expect(bad({ LOCKOUT_HARD_LIMIT: '101' })).rejects.toThrow('LOCKOUT_HARD_LIMIT must be a whole number from 1 to 100')
    await expect(bad({ RATE_LIMIT_LOGIN_PER_IP: '20' })).rejects.toThrow('RATE_LIMIT_LOGIN_PER_IP must be "<requests>/<seconds>"')
    await expect(bad({ RATE_LIMIT_REGISTER_PER_IP: '0/60' })).rejects.toThrow('RATE_LIMIT_REGISTER_PER_IP')
    await expect(bad({ LOCKOUT_AFTER_FAILURES: '0' })).rejects.toThrow('LOCKOUT_AFTER_FAILURES')
    await expect(bad({ LOCKOUT_HARD_LIMIT: '5', LOCKOUT_TWO_FACTOR_AFTER_FAILURES: '6' })).rejects.toThrow(
      'LOCKOUT_TWO_FACTOR_AFTER_FAILURES must not exceed LOCKOUT_HARD_LIMIT',
    )
    await expect(bad({ LOCKOUT_BASE_SECONDS: '1000' })).rejects.toThrow('LOCKOUT_BASE_SECONDS must not exceed LOCKOUT_MAX_SECONDS')
  })
})
