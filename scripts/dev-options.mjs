// What `npm run dev` serves on and with which limits, apart from scripts/dev.mjs so that
// test/unit/dev-options.test.ts can hold it.

export const DEFAULT_PORT = 8001

/** `--port N` or `--port=N` on the command line, else PORT, else 8001. */
export function devPort(argv = [], env = {}) {
  let value = env.PORT || undefined
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--port') value = argv[++i] ?? ''
    else if (argv[i].startsWith('--port=')) value = argv[i].slice('--port='.length)
  }
  if (value === undefined) return DEFAULT_PORT
  const port = Number(value)
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`The port must be a whole number from 1 to 65535 (got ${value})`)
  return port
}

/**
 * Per-IP windows for development, the production windows ×100. Locally no request carries
 * CF-Connecting-IP, so every request shares one bucket: with production's 10 registrations
 * an hour, a developer building a sign-up page is locked out before lunch. The per-account
 * locks (wrong passwords, wrong 2FA codes) are not per IP and stay as they are.
 */
export const RELAXED_PER_IP_LIMITS = {
  RATE_LIMIT_LOGIN_PER_IP: '2000/60',
  RATE_LIMIT_REGISTER_PER_IP: '1000/3600',
  RATE_LIMIT_OAUTH_PER_IP: '2000/60',
  RATE_LIMIT_REFRESH_PER_IP: '6000/60',
  RATE_LIMIT_TWO_FACTOR_PER_IP: '2000/60',
  RATE_LIMIT_PASSWORD_RESET_PER_IP: '1000/900',
}

/** The setting that keeps production's per-IP windows in development. */
export const STRICT_SETTING = 'DEV_STRICT_RATE_LIMITS'

/**
 * The per-IP windows `npm run dev` passes to the Worker, given the developer's settings
 * (.dev.vars and the environment): none when the Worker does not run as development or
 * DEV_STRICT_RATE_LIMITS is on, and never one the developer set themselves.
 */
export function devRateLimits(settings = {}) {
  if ((settings.ENVIRONMENT ?? 'development') !== 'development') return {}
  if (/^(1|true|yes|on)$/i.test(settings[STRICT_SETTING] ?? '')) return {}
  return Object.fromEntries(Object.entries(RELAXED_PER_IP_LIMITS).filter(([name]) => !settings[name]))
}
