export const DAY = 86_400

export function seconds(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive whole number of seconds`)
  return n
}

export function count(value: string | undefined, fallback: number, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined || value === '') return fallback
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0 || n > max) throw new Error(`${name} must be a whole number from 1 to ${max}`)
  return n
}

/** A number of seconds where 0 (the default) turns a rule off. */
export function wholeSeconds(value: string | undefined, name: string): number {
  if (value === undefined || value === '') return 0
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number of seconds (0: off)`)
  return n
}

/** An opt-in switch: unset, `off` or `false` is off; `on` or `true` is on; anything else is a mistake. */
export function onOff(value: string | undefined, name: string): boolean {
  const text = value?.trim().toLowerCase() ?? ''
  if (text === '' || text === 'off' || text === 'false') return false
  if (text === 'on' || text === 'true') return true
  throw new Error(`${name} must be "on" or "off"`)
}
