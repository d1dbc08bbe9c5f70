import { randomUUID } from 'node:crypto'

/** The order of the report; each target maps these to its nearest endpoint. */
export const SCENARIOS = ['login', 'read', 'refresh', 'jwks', 'register', 'sessions', 'org-members']

const PASSWORD = 'correct horse battery staple'
const JSON_HEADERS = { 'content-type': 'application/json' }
const run = randomUUID().slice(0, 8)
let emails = 0
const uniqueEmail = (prefix) => `${prefix}-${run}-${emails++}@example.com`

async function postJson(url, headers = {}, body) {
  const response = await fetch(url, { method: 'POST', headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) })
  const text = await response.text()
  if (!response.ok) throw new Error(`POST ${url} answered ${response.status}: ${text.slice(0, 300)}`)
  return { response, body: JSON.parse(text) }
}

/**
 * Logins rotate over this many accounts on both sides: real sign-in traffic is many users,
 * and ten connections on one account would measure Gatehouse's per-account lock (five
 * attempts in flight on one account are refused) instead of a login.
 */
const ACCOUNTS = 16

/** Registers `ACCOUNTS` users, one after another, with `register(email)`. */
async function accounts(register) {
  const emails = []
  for (let i = 0; i < ACCOUNTS; i++) emails.push(await register(uniqueEmail('account')))
  return emails
}

/** autocannon's setupRequest for a login body of the next account in turn. */
const rotating = (emails, body) => {
  let next = 0
  return (request) => ({ ...request, body: JSON.stringify(body(emails[next++ % emails.length])) })
}

const parse = (body) => {
  try {
    return JSON.parse(body)
  } catch {
    return undefined
  }
}

/**
 * Gatehouse. Each scenario returns an autocannon request; `check` marks a 2xx answer that
 * is still not what the scenario means to measure.
 */
export const gatehouse = {
  label: 'Gatehouse',
  async prepare(url) {
    let accessToken
    const emails = await accounts(async (email) => {
      const { body } = await postJson(`${url}/api/v1/auth/register`, {}, {
        email, password: PASSWORD, full_name: 'Bench User', organization_name: 'Bench Org',
      })
      accessToken ??= body.access_token
      return email
    })
    return { emails, accessToken }
  },
  endpoints: {
    login: 'POST /api/v1/auth/login',
    read: 'GET /api/v1/auth/me',
    refresh: 'POST /api/v1/auth/refresh (single-use, rotated)',
    jwks: 'GET /.well-known/jwks.json',
    register: 'POST /api/v1/auth/register',
    sessions: 'GET /api/v1/auth/sessions',
    'org-members': 'GET /api/v1/org/members',
  },
  scenarios: {
    login: (s) => ({
      method: 'POST',
      path: '/api/v1/auth/login',
      headers: JSON_HEADERS,
      setupRequest: rotating(s.emails, (email) => ({ email, password: PASSWORD })),
    }),
    read: (s) => ({ method: 'GET', path: '/api/v1/auth/me', headers: { authorization: `Bearer ${s.accessToken}` } }),
    sessions: (s) => ({ method: 'GET', path: '/api/v1/auth/sessions', headers: { authorization: `Bearer ${s.accessToken}` } }),
    'org-members': (s) => ({ method: 'GET', path: '/api/v1/org/members', headers: { authorization: `Bearer ${s.accessToken}` } }),
    // Refresh tokens are single-use. Each connection starts from a login of its own; every
    // answer hands back the rotated token, which the next request spends. (autocannon
    // clears a connection's context between requests, so the live tokens wait in one queue:
    // one answer in, one request out, never empty while every refresh succeeds.)
    refresh: async (s, url, connections) => {
      const tokens = await Promise.all(
        Array.from({ length: connections }, async (_, i) =>
          (await postJson(`${url}/api/v1/auth/login`, {}, { email: s.emails[i % s.emails.length], password: PASSWORD })).body.refresh_token),
      )
      return {
        method: 'POST',
        path: '/api/v1/auth/refresh',
        headers: JSON_HEADERS,
        setupRequest: (request) => ({ ...request, body: JSON.stringify({ refresh_token: tokens.shift() ?? 'none-left' }) }),
        onResponse: (status, body) => {
          const token = status === 200 ? parse(body)?.refresh_token : undefined
          if (token) tokens.push(token)
        },
      }
    },
    jwks: () => ({ method: 'GET', path: '/.well-known/jwks.json' }),
    register: () => ({
      method: 'POST',
      path: '/api/v1/auth/register',
      headers: JSON_HEADERS,
      setupRequest: (request) => ({
        ...request,
        body: JSON.stringify({ email: uniqueEmail('gh-new'), password: PASSWORD, full_name: 'New User', organization_name: 'New Org' }),
      }),
    }),
  },
}

/** Better Auth, mounted at /api/auth; its session is a signed cookie. */
export const betterAuth = {
  label: 'Better Auth',
  async prepare(url) {
    const origin = { origin: url }
    let cookie
    const emails = await accounts(async (email) => {
      const { response } = await postJson(`${url}/api/auth/sign-up/email`, origin, { email, password: PASSWORD, name: 'Bench User' })
      cookie ??= response.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ')
      return email
    })
    if (!cookie.includes('session_token')) throw new Error('Better Auth sign-up set no session cookie')
    const session = await (await fetch(`${url}/api/auth/get-session`, { headers: { cookie, ...origin } })).json()
    if (!session?.user) throw new Error('Better Auth get-session did not recognise the session cookie')
    return { emails, cookie, origin }
  },
  endpoints: {
    login: 'POST /api/auth/sign-in/email',
    read: 'GET /api/auth/get-session',
    refresh: 'GET /api/auth/token (jwt plugin: a new JWT for the session; no rotation)',
    jwks: 'GET /api/auth/jwks',
    register: 'POST /api/auth/sign-up/email',
  },
  scenarios: {
    login: (s) => ({
      method: 'POST',
      path: '/api/auth/sign-in/email',
      headers: { ...JSON_HEADERS, ...s.origin },
      setupRequest: rotating(s.emails, (email) => ({ email, password: PASSWORD })),
    }),
    // get-session answers 200 with `null` for an unknown session: only a body with a user counts.
    read: (s) => ({ method: 'GET', path: '/api/auth/get-session', headers: { cookie: s.cookie, ...s.origin }, check: (body) => body.includes('"user"') }),
    refresh: (s) => ({ method: 'GET', path: '/api/auth/token', headers: { cookie: s.cookie, ...s.origin }, check: (body) => body.includes('"token"') }),
    jwks: (s) => ({ method: 'GET', path: '/api/auth/jwks', headers: s.origin }),
    register: (s) => ({
      method: 'POST',
      path: '/api/auth/sign-up/email',
      headers: { ...JSON_HEADERS, ...s.origin },
      setupRequest: (request) => ({ ...request, body: JSON.stringify({ email: uniqueEmail('ba-new'), password: PASSWORD, name: 'New User' }) }),
    }),
  },
}
