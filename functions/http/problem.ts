import type { Dialect } from './dialect'
import type { FailureBody } from './errors'

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
}

/** The auth API's failure: RFC 9457 problem details, with our stable `code`. */
export const problemDetails: FailureBody = (_c, error, { status, headers, requestId }) => {
  const problem: Record<string, unknown> = {
    type: `/docs#error-${error.code}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail: error.detail,
    code: error.code,
  }
  if (error.extra.errors) problem.errors = error.extra.errors
  if (requestId) problem.request_id = requestId
  return new Response(JSON.stringify(problem), {
    status,
    headers: { ...headers, 'Content-Type': 'application/problem+json' },
  })
}

/** Its JSON Schema, for /openapi.json. */
export const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string' }, message: { type: 'string' } } },
    },
    request_id: { type: 'string', description: 'On a 500: the X-Request-Id of the response, to quote when reporting it.' },
  },
}

/** The auth API (`/api/v1/...`) and the service's own routes (`/health`, the JWKS): mounted at the root. */
export const authApi: Dialect = {
  base: '',
  failure: problemDetails,
  doc: {
    error: { name: 'Problem', mediaType: 'application/problem+json', schema: problemSchema },
    tag: (path) => path.split('/')[3] ?? 'service',
  },
}
