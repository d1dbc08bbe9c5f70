import { readFile, writeFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { SCHEMA_FILE, clientTypes } from '../../client/generate'
import { createGatehouseClient } from '../../client/index'
import { testApp } from '../support/app'
import { problem } from '../support/errors'

// `npm run client:generate` runs this file with UPDATE_CLIENT=1: it writes instead of comparing.
describe('the typed client (client/)', () => {
  it('is generated from the live /openapi.json, and in sync with it', async () => {
    const t = await testApp()
    const types = await clientTypes(await (await t.get('/openapi.json')).json())
    if (process.env.UPDATE_CLIENT) await writeFile(SCHEMA_FILE, types)
    expect(types, 'client/schema.ts is stale: run npm run client:generate').toBe(await readFile(SCHEMA_FILE, 'utf8'))
  })

  it('calls the app with typed bodies, typed results and typed errors', async () => {
    const t = await testApp()
    const client = createGatehouseClient({
      baseUrl: 'http://gatehouse.test',
      fetch: async (request) => t.app.request(request, undefined, t.env),
    })
    const email = `client-${Date.now()}@example.com`
    const registered = await client.POST('/api/v1/auth/register', {
      body: { email, password: 'correct horse battery staple', full_name: 'Ada', organization_name: 'Engines' },
      headers: { 'CF-Connecting-IP': '203.0.113.7' },
    })
    expect(registered.response.status).toBe(201)
    const token = registered.data!.access_token
    const me = await client.GET('/api/v1/auth/me', { headers: { Authorization: `Bearer ${token}` } })
    expect(me.data?.email).toBe(email)
    const events = await client.GET('/api/v1/auth/events', { params: { query: { limit: 1 } }, headers: { Authorization: `Bearer ${token}` } })
    expect(events.data?.events).toHaveLength(1)
    const unauthenticated = await client.GET('/api/v1/auth/me')
    expect(unauthenticated.error).toEqual(problem(401, 'token_missing', 'An Authorization: Bearer token is required.'))
    // The error is typed as problem details: its code is a string the compiler knows.
    const code: string | undefined = unauthenticated.error?.code
    expect(code).toBe('token_missing')
  })
})
