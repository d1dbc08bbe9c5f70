/** The SQLSTATE of a Postgres error, wherever a driver or drizzle put it in the cause chain. */
export function sqlState(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code
  }
  return undefined
}

export const isUniqueViolation = (error: unknown) => sqlState(error) === '23505'

/** A `required` change of a batch did not happen (db/client.ts): the batch wrote nothing. */
export const isRequirementUnmet = (error: unknown) => sqlState(error) === 'GH001'
