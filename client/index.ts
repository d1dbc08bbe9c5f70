import createClient from 'openapi-fetch'
import type { ClientOptions } from 'openapi-fetch'
import type { paths } from './schema.js'

export type { components, operations, paths } from './schema.js'

/**
 * A typed client of Gatehouse's HTTP API (openapi-fetch over the types generated from
 * /openapi.json): paths, bodies, query parameters and responses, errors included, are typed.
 *
 * @example
 * const gatehouse = createGatehouseClient({ baseUrl: 'https://auth.example.com' })
 * const { data, error } = await gatehouse.POST('/api/v1/auth/login', { body: { email, password } })
 * if (error) console.log(error.code)
 */
export function createGatehouseClient(options: ClientOptions & { baseUrl: string }) {
  return createClient<paths>(options)
}
