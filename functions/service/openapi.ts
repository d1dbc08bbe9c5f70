import * as z from 'zod/mini'
import type { Dialect } from '../http/dialect'
import type { Route } from '../http/endpoint'

/** Routes of one dialect, in the order the document lists them. */
export interface Section {
  dialect: Dialect
  routes: readonly Route[]
}

// What every endpoint can answer, beside what its spec declares.
const ERROR_DESCRIPTIONS: Record<string, string> = {
  400: 'Malformed JSON or not JSON',
  401: 'Missing, invalid, expired or revoked token',
  403: 'The token lacks the scope, or the account is inactive',
  404: 'No such resource',
  413: 'The body is over the size limit',
  422: 'The body did not pass validation',
  500: 'An unexpected error',
  503: 'The database is unreachable',
}

const jsonSchema = (schema: z.ZodMiniType, io: 'input' | 'output') => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>
  return rest
}

const pascal = (word: string) => word.charAt(0).toUpperCase() + word.slice(1)

/**
 * A stable operationId from the method and path: `post /api/v1/auth/login` → `postAuthLogin`,
 * `delete /api/v1/org/members/:user_id` → `deleteOrgMembersByUserId`, `post /v1/login` → `postV1Login`.
 */
export function operationId(method: string, path: string): string {
  const words = path
    .replace(/^\/api\/v1\//, '/')
    .split(/[/.\-_]+/)
    .filter(Boolean)
    .map((part) => (part.startsWith(':') ? `By${part.slice(1).split('_').map(pascal).join('')}` : pascal(part)))
  return method + words.join('')
}

/**
 * OpenAPI 3.1, generated from each endpoint's own declaration: nothing is described twice.
 * Each dialect says how its errors and successes look.
 */
export function openApiDocument(sections: readonly Section[], serverUrl = '/') {
  const paths: Record<string, Record<string, unknown>> = {}
  const schemas: Record<string, object> = {}
  for (const { dialect, routes } of sections) {
    const { error, success = (body) => body, tag } = dialect.doc
    schemas[error.name] = error.schema
    const errors = { [error.mediaType]: { schema: { $ref: `#/components/schemas/${error.name}` } } }
    for (const [method, relative, { spec }] of routes) {
      const path = dialect.base + relative
      const pathParams = [...path.matchAll(/:(\w+)/g)].map(([, name]) => name!)
      const responses: Record<string, unknown> = {}
      for (const [status, { description, schema }] of Object.entries(spec.responses)) {
        if (schema) responses[status] = { description, content: { 'application/json': { schema: success(jsonSchema(schema, 'output')) } } }
        else responses[status] = Number(status) >= 400 ? { description, content: errors } : { description }
      }
      const statuses = [
        spec.body && '400',
        spec.auth !== false && '401',
        typeof spec.auth === 'string' && '403',
        pathParams.length > 0 && '404',
        spec.body && '413',
        (spec.body || spec.query) && '422',
        '500',
        '503',
      ]
      for (const status of statuses) if (status) responses[status] ??= { description: ERROR_DESCRIPTIONS[status], content: errors }
      const parameters = [
        ...pathParams.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
        ...Object.entries(spec.query ?? {}).map(([name, { description, schema }]) => ({ name, in: 'query', required: false, description, schema })),
      ]
      const openApiPath = path.replace(/:(\w+)/g, '{$1}')
      paths[openApiPath] ??= {}
      paths[openApiPath][method] = {
        operationId: operationId(method, path),
        summary: spec.summary,
        ...(spec.description && { description: spec.description }),
        tags: [tag(path)],
        ...(spec.auth !== false && { security: [{ bearer: [] }] }),
        ...(parameters.length && { parameters }),
        ...(spec.body && {
          requestBody: { required: !spec.bodyOptional, content: { 'application/json': { schema: jsonSchema(spec.body, 'input') } } },
        }),
        responses,
      }
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Gatehouse', version: '1', description: 'Authentication API: the auth API (/api/v1) and the /v1 dialect.' },
    servers: [{ url: serverUrl }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } }, schemas },
    paths,
  }
}
