// The error bodies of the contract (spec/API.md), built once: a test states the status, code
// and message it expects, not the whole literal again.

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
}

/** The auth API's problem-details body (RFC 9457, with our `code`). */
export const problem = (status: number, code: string, detail: string) => ({
  type: `/docs#error-${code}`,
  title: TITLES[status],
  status,
  detail,
  code,
})

/** The /v1 dialect's answer to any 401: its clients match on this exact message. */
export const V1_UNAUTHENTICATED = { success: false, message: 'Unauthenticated.' } as const
