import { sqlState } from '../../db/errors'

export type LogLevel = 'info' | 'warn' | 'error'

/** Where finished lines go: the console in a Worker (Workers Logs reads the level from the method), a buffer in tests. */
export type LogSink = (level: LogLevel, line: string) => void

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

export const consoleSink: LogSink = (level, line) => {
  if (level === 'error') console.error(line)
  else if (level === 'warn') console.warn(line)
  else console.log(line)
}

// Field names whose values never reach a log, at any depth: a safety net under the rule that
// no caller passes them. `code` is not here: the error code is the one field every line needs
// (an OAuth authorization code never travels under that name in a log call).
const SECRET_NAME = /pass(word)?|secret|token|authorization|cookie|private|^key$|^d$|^p$|^q$|^dp$|^dq$|^qi$|^k$|verifier|^text$|^body$|^query$|^email$/i

function scrub(value: unknown, depth = 0): unknown {
  if (value instanceof Error) return errorFields(value)
  if (typeof value !== 'object' || value === null) return value
  if (depth > 4) return '[depth]'
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [name, v] of Object.entries(value)) out[name] = SECRET_NAME.test(name) ? '[redacted]' : scrub(v, depth + 1)
  return out
}

/**
 * What a log may say about an error: the deepest cause's name, message, stack and SQLSTATE.
 * The deepest, because a DrizzleQueryError's own message carries the query's parameters
 * (password hashes, emails), and a wrapped driver event says more than its wrapper.
 */
export function errorFields(error: unknown): Record<string, unknown> {
  let root = error
  for (let depth = 0; root instanceof Error && root.cause && depth < 5; depth++) root = root.cause
  if (!(root instanceof Error)) {
    const message = (root as { message?: unknown })?.message
    return { message: String(message ?? (root as { type?: unknown })?.type ?? root) }
  }
  const state = sqlState(root)
  return { name: root.name, message: root.message, ...(root.stack && { stack: root.stack }), ...(state && { sqlstate: state }) }
}

/**
 * One JSON object per line: `{level, message, time, ...context, ...fields}`; Workers Logs
 * indexes every field. `context` (the request id, route) is on every line of a request.
 *
 * @example
 * const log = createLogger(consoleSink, { request_id: 'abc' })
 * log.warn('mail not sent', { error }) // {"level":"warn","message":"mail not sent","request_id":"abc","error":{...}}
 */
export function createLogger(sink: LogSink, context: Record<string, unknown> = {}, clock: () => Date = () => new Date()): Logger {
  const write =
    (level: LogLevel) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      let line: string
      try {
        line = JSON.stringify({ level, message, time: clock().toISOString(), ...context, ...(scrub(fields) as object) })
      } catch {
        line = JSON.stringify({ level, message, time: clock().toISOString(), ...context, log_error: 'fields not serializable' })
      }
      sink(level, line)
    }
  return { info: write('info'), warn: write('warn'), error: write('error') }
}
