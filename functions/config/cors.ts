/**
 * Exact origins only: a wildcard (`*`, `https://*.example.com`) or a URL with a path would
 * let pages nobody listed read the API's answers; `null` is what sandboxed and file:// pages send.
 */
export function corsOrigins(value: string | undefined): string[] {
  const text = value?.trim() ?? ''
  if (!text) return []
  let list: unknown
  try {
    list = text.startsWith('[') ? JSON.parse(text) : text.split(',').map((origin) => origin.trim())
  } catch {
    throw new Error('CORS_ORIGINS is not valid JSON')
  }
  if (!Array.isArray(list) || !list.every(isOrigin))
    throw new Error('CORS_ORIGINS must list exact origins such as https://app.example.com (no wildcard, path or trailing slash)')
  return list
}

function isOrigin(value: unknown): value is string {
  if (typeof value !== 'string' || value.includes('*')) return false
  try {
    const url = new URL(value)
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value
  } catch {
    return false
  }
}
