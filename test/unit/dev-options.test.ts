import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../functions/config'
import { DEFAULT_RATE_LIMITS } from '../../functions/config/rate-limits'
import { DEFAULT_PORT, RELAXED_PER_IP_LIMITS, devPort, devRateLimits } from '../../scripts/dev-options.mjs'
import { testBindings } from '../support/app'

describe('npm run dev: the port', () => {
  it('is 8001 unless PORT or --port says otherwise; the flag wins', () => {
    expect(devPort([], {})).toBe(DEFAULT_PORT)
    expect(DEFAULT_PORT).toBe(8001)
    expect(devPort([], { PORT: '9000' })).toBe(9000)
    expect(devPort(['--port', '9001'], { PORT: '9000' })).toBe(9001)
    expect(devPort(['--port=9002'], {})).toBe(9002)
    expect(devPort([], { PORT: '' })).toBe(8001)
  })

  it('refuses what is not a port', () => {
    for (const bad of ['0', '65536', 'eighty', '80.5', '-1', ''])
      expect(() => devPort(['--port', bad], {})).toThrow('The port must be a whole number from 1 to 65535')
    expect(() => devPort(['--port'], {})).toThrow('The port must be a whole number')
    expect(() => devPort([], { PORT: 'x' })).toThrow('The port must be a whole number')
  })
})

describe('npm run dev: per-IP rate limits', () => {
  it('relaxes every per-IP window the Worker reads, and only those', async () => {
    const relaxed = await parseConfig(await testBindings({ ENVIRONMENT: 'development', ...devRateLimits({ ENVIRONMENT: 'development' }) }))
    for (const [action, window] of Object.entries(relaxed.rateLimits.perIp)) {
      const production = DEFAULT_RATE_LIMITS.perIp[action as keyof typeof DEFAULT_RATE_LIMITS.perIp]
      expect(window, action).toEqual({ limit: production.limit * 100, windowSeconds: production.windowSeconds })
    }
    // The per-account locks and the per-email limit are untouched.
    expect({ ...relaxed.rateLimits, perIp: undefined }).toEqual({ ...DEFAULT_RATE_LIMITS, perIp: undefined })
  })

  it('leaves a window the developer set, and relaxes nothing when asked to keep production’s limits', () => {
    expect(devRateLimits({ ENVIRONMENT: 'development', RATE_LIMIT_REGISTER_PER_IP: '3/60' })).not.toHaveProperty('RATE_LIMIT_REGISTER_PER_IP')
    for (const on of ['1', 'true', 'on', 'YES']) expect(devRateLimits({ ENVIRONMENT: 'development', DEV_STRICT_RATE_LIMITS: on })).toEqual({})
    expect(devRateLimits({ ENVIRONMENT: 'development', DEV_STRICT_RATE_LIMITS: '0' })).toEqual(RELAXED_PER_IP_LIMITS)
  })

  it('relaxes nothing for a Worker that does not run as development', () => {
    expect(devRateLimits({ ENVIRONMENT: 'production' })).toEqual({})
    expect(devRateLimits({ ENVIRONMENT: 'test' })).toEqual({})
  })

  it('keeps production’s limits in production: wrangler.toml sets none of them', async () => {
    const toml = readFileSync('wrangler.toml', 'utf8')
    expect(toml).toMatch(/^ENVIRONMENT = "production"$/m)
    expect(toml).not.toMatch(/RATE_LIMIT|LOCKOUT|DEV_STRICT/)
    // Production also needs an https APP_URL to serve at all (issue #13).
    const production = await testBindings({ ENVIRONMENT: 'production', APP_URL: 'https://app.example' })
    expect((await parseConfig(production)).rateLimits).toEqual(DEFAULT_RATE_LIMITS)
  })
})
