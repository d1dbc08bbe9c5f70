/** Where the Worker runs (ENVIRONMENT). */
export type Environment = 'development' | 'production' | 'preview' | 'test'

export function environment(value: string | undefined): Environment {
  if (value === 'development' || value === 'test' || value === 'preview') return value
  // Anything unknown is treated as production: the safe side for /dev routes.
  return 'production'
}

/**
 * Production and previews face the internet with real clients: every guard that holds in
 * production holds in a preview too (a preview differs only in where its mail goes).
 */
export const isDeployed = (environment: Environment) => environment === 'production' || environment === 'preview'

/** Where the outbox may be read (GET /dev/mail): reviewers of a preview need its mails. */
export const isOutboxReadable = (environment: Environment) => environment === 'development' || environment === 'preview'

/** APP_URL, where mail links point: https wherever real users get them. */
export function appUrl(value: string | undefined, where: Environment): string {
  const url = (value || 'http://localhost:8001').replace(/\/+$/, '')
  // Mail links carry reset and invitation tokens: never over plain http to real users.
  if (isDeployed(where) && !/^https:\/\/[^/]/.test(url)) throw new Error(`APP_URL must be an https URL when ENVIRONMENT is ${where}`)
  return url
}

/** JWT_ISSUER: required where tokens are real. */
export function issuer(value: string | undefined, where: Environment): string {
  // The default names no deployment: a placeholder would be signed into real tokens and pinned
  // by every downstream verifier, and a preview's tokens must never pass for production's.
  if (isDeployed(where) && !value) throw new Error(`JWT_ISSUER must be set when ENVIRONMENT is ${where}: the public URL of this Worker, the iss of every token`)
  return value || 'gatehouse'
}
