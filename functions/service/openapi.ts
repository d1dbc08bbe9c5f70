import * as z from 'zod/mini'
import type { Endpoint } from '../http/endpoint'

export type Route = readonly [method: 'get' | 'post' | 'patch' | 'delete' | 'put', path: string, endpoint: Endpoint]

const problem = {
  description: 'An error (RFC 9457 problem details)',
  content: {
    'application/problem+json': {
      schema: {
        type: 'object',
        required: ['type', 'title', 'status', 'detail', 'code'],
        properties: {
          type: { type: 'string' },
          title: { type: 'string' },
          status: { type: 'integer' },
          detail: { type: 'string' },
          code: { type: 'string' },
          errors: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } },
        },
      },
    },
  },
}
const v1Error = {
  description: 'An error ({success: false, message})',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        required: ['success', 'message'],
        properties: { success: { const: false }, message: { type: 'string' }, errors: { type: 'object' } },
      },
    },
  },
}

const jsonSchema = (schema: z.ZodMiniType, io: 'input' | 'output') => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>
  return rest
}

/** OpenAPI 3.1, generated from each endpoint's own declaration: nothing is described twice. */
export function openApiDocument(routes: readonly Route[]) {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const [method, path, { spec }] of routes) {
    const v1 = path.startsWith('/v1/')
    const responses: Record<string, unknown> = {}
    for (const [status, { description, schema }] of Object.entries(spec.responses)) {
      let body = schema && jsonSchema(schema, 'output')
      if (body && v1) body = { type: 'object', required: ['success', 'data'], properties: { success: { const: true }, data: body } }
      responses[status] = body ? { description, content: { 'application/json': { schema: body } } } : { description }
    }
    const errors = v1 ? v1Error : problem
    const statuses = [spec.body && '400', spec.auth !== false && '401', typeof spec.auth === 'string' && '403', spec.body && '422', '503']
    for (const status of statuses) if (status) responses[status] ??= errors
    const openApiPath = path.replace(/:(\w+)/g, '{$1}')
    paths[openApiPath] ??= {}
    paths[openApiPath][method] = {
      summary: spec.summary,
      ...(spec.description && { description: spec.description }),
      tags: [v1 ? '/v1 dialect' : path.split('/')[3] ?? 'service'],
      ...(spec.auth !== false && { security: [{ bearer: [] }] }),
      ...([...path.matchAll(/:(\w+)/g)].length && {
        parameters: [...path.matchAll(/:(\w+)/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
      }),
      ...(spec.body && {
        requestBody: { required: !spec.bodyOptional, content: { 'application/json': { schema: jsonSchema(spec.body, 'input') } } },
      }),
      responses,
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Gatehouse', version: '1', description: 'Authentication API: the auth API (/api/v1) and the /v1 dialect.' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    paths,
  }
}

/** An interactive reference (Scalar) that reads /openapi.json; the page itself is a few hundred bytes. */
export const docsPage = `<!doctype html>
<html>
  <head>
    <title>Gatehouse API reference</title>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
  </head>
  <body>
    <script id="api-reference" data-url="/openapi.json"></script>
    <script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference@1"></script>
  </body>
</html>`
