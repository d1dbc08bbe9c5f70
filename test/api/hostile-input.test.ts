import { describe, expect, it } from 'vitest'
import { testApp } from '../support/app'

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`

describe('hostile bodies', () => {
  it('answers a body nested 8,000 deep with 422, not a stack overflow', async () => {
    const t = await testApp()
    const body = `{"email":"a@b.co","password":${nested(8000)}}`
    expect(body.length).toBeLessThan(16 * 1024)
    const res = await t.post('/api/v1/auth/login', body)
    expect(res.status).toBe(422)
    const problem = await res.json()
    expect(problem).toMatchObject({ status: 422, code: 'validation_failed' })
    expect(problem.errors).toEqual([{ field: `password${'.0'.repeat(31)}`, message: 'is nested more than 32 deep' }])
  })

  it('accepts nesting up to 32 deep (the schema then judges it)', async () => {
    const t = await testApp()
    const res = await t.post('/api/v1/auth/login', `{"email":"a@b.co","password":"x","extra":${nested(31)}}`)
    expect(res.status).toBe(401)
  })

  it('answers deep nesting with 422 in the /v1 envelope too', async () => {
    const t = await testApp()
    const res = await t.post('/v1/login', `{"email":"a@b.co","password":"x","x":{"y":${nested(40)}}}`)
    expect(res.status).toBe(422)
    expect(await res.json()).toEqual({
      success: false,
      message: 'The request body did not pass validation.',
      errors: { [`x.y${'.0'.repeat(30)}`]: ['is nested more than 32 deep'] },
    })
  })

  it('stops reading a chunked body at 16 KB and answers 413, even when it never ends', async () => {
    const t = await testApp()
    let pulled = 0
    const endless = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((resolve) => setImmediate(resolve))
        pulled += 1024
        controller.enqueue(new Uint8Array(1024).fill(0x20))
      },
    })
    const res = await t.app.request(
      '/api/v1/auth/login',
      { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: endless, duplex: 'half' } as RequestInit,
      t.env,
    )
    expect(res.status).toBe(413)
    expect(await res.json()).toMatchObject({ status: 413, code: 'payload_too_large' })
    expect(pulled).toBeLessThanOrEqual(32 * 1024)
  }, 5_000)

  it('still reads a chunked body under the limit', async () => {
    const t = await testApp()
    const text = new TextEncoder().encode('{"email":"a@b.co","password":"wrong password"}')
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < text.length; i += 7) controller.enqueue(text.slice(i, i + 7))
        controller.close()
      },
    })
    const res = await t.app.request(
      '/api/v1/auth/login',
      { method: 'POST', headers: { 'Content-Type': 'application/json', 'CF-Connecting-IP': '203.0.113.77' }, body: chunked, duplex: 'half' } as RequestInit,
      t.env,
    )
    expect(res.status).toBe(401)
  })
})

describe('validation errors keyed by a field named like a prototype', () => {
  it('answers a failing __proto__ field on /v1/login with 422, not 500', async () => {
    const t = await testApp()
    const res = await t.post('/v1/login', '{"email":"a@b.co","password":"xxxxxxxx","__proto__":"\\ud800"}')
    expect(res.status).toBe(422)
    const body = await res.json()
    expect(body).toMatchObject({ success: false, message: 'The request body did not pass validation.' })
    // JSON.parse makes `__proto__` an own key; an object literal would set the prototype instead.
    expect(Object.entries(body.errors)).toEqual([['__proto__', ['must be valid Unicode']]])
  })

  it('answers a failing __proto__ field on /v1/2fa/disable with 422, not 500', async () => {
    const t = await testApp()
    const account = await t.register()
    const res = await t.post('/v1/2fa/disable', '{"code":{},"__proto__":"\\u0000"}', account.access_token)
    expect(res.status).toBe(422)
    const body = await res.json()
    expect(Object.keys(body.errors)).toEqual(['__proto__'])
    expect(Object.getOwnPropertyDescriptor(body.errors, '__proto__')?.value).toEqual(['must not contain null bytes'])
  })

  it('keys constructor and toString like any other field', async () => {
    const t = await testApp()
    const res = await t.post('/v1/login', '{"email":"a@b.co","password":"x","constructor":"\\u0000","toString":"\\ud800"}')
    expect(res.status).toBe(422)
    expect((await res.json()).errors).toEqual({ constructor: ['must not contain null bytes'], toString: ['must be valid Unicode'] })
  })
})
