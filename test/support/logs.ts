import type { LogLevel } from '../../functions/core/log'

/** A log line as the Worker wrote it (one JSON object), with the level it was written at. */
export interface LogLine {
  level: LogLevel
  message: string
  request_id: string
  [field: string]: unknown
}

// Everything every app of this test file logged, and every secret its requests carried or
// its responses handed out. setup.ts checks, after each file, that no secret is in a line.
const written: string[] = []
const secrets = new Set<string>()

/** A log sink for one app: its lines, parsed, and the file's record of them. */
export function captureLogs() {
  const lines: LogLine[] = []
  const sink = (_level: LogLevel, line: string) => {
    written.push(line)
    lines.push(JSON.parse(line))
  }
  return { sink, lines }
}

// Request fields that hold something a log must never show, and response fields that hand
// one out. `code` in a request is a TOTP, recovery or OAuth authorization code; an error
// body's `code` (a machine string every log line carries) is never read: only 2xx bodies are.
const SECRET_FIELD = /password|token|secret|^code$|verifier|recovery_codes|qr_code|otpauth|^key$|^email$|^d$|^p$|^q$|^dp$|^dq$|^qi$|^k$/i

// Field names the API itself writes (`password` in a validation error's field list): a test
// that sends one of them as a value (a common password such as "password") has not leaked it
// when a log line names the field.
const fieldNames = new Set<string>()

// A loop, not recursion: hostile-input tests send bodies nested thousands deep.
function collect(root: unknown): void {
  const stack: [value: unknown, name: string][] = [[root, '']]
  while (stack.length > 0) {
    const [value, name] = stack.pop()!
    if (typeof value === 'string') {
      // Shorter values (a 6-digit code) are checked too, but only as whole words (below).
      if (SECRET_FIELD.test(name) && value.length >= 6) secrets.add(value)
    } else if (Array.isArray(value)) {
      for (const item of value) stack.push([item, name])
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, v] of Object.entries(value)) {
        fieldNames.add(key)
        stack.push([v, key])
      }
    }
  }
}

const parse = (text: string) => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** Records the secrets of one exchange: body fields, a bearer token, and what a success handed out. */
export function noteSecrets(request: { body?: string; headers: Record<string, string> }, status: number, responseText: string) {
  if (request.body) collect(parse(request.body))
  const bearer = /^Bearer (.+)$/i.exec(request.headers.Authorization ?? '')?.[1]
  if (bearer) secrets.add(bearer)
  if (status < 300) collect(parse(responseText))
}

/** The configuration's secrets: private key material, data keys, API keys, client secrets. */
export function noteEnvSecrets(env: Record<string, string | undefined>) {
  for (const [name, value] of Object.entries(env)) {
    if (!value || !/KEYS?$|SECRET/.test(name)) continue
    const parsed = parse(value)
    if (parsed === undefined) secrets.add(value)
    else collect(parsed)
  }
}

const WORD = /[A-Za-z0-9]/

/** Whether `s` occurs in `text` as a whole word. A scan, not a RegExp: a secret such as a QR data URL is too long to be one. */
function appearsIn(text: string, s: string): boolean {
  for (let i = text.indexOf(s); i !== -1; i = text.indexOf(s, i + 1)) {
    if (!WORD.test(text[i - 1] ?? '') && !WORD.test(text[i + s.length] ?? '')) return true
  }
  return false
}

/** The secrets of this file that appear in any line it logged, as whole words. */
export function leakedSecrets(): string[] {
  const text = written.join('\n')
  const appears = (s: string) => appearsIn(text, s)
  // Inside a JSON line a quote or backslash of the secret is escaped.
  return [...secrets].filter((secret) => !fieldNames.has(secret) && (appears(secret) || appears(JSON.stringify(secret).slice(1, -1))))
}

export const loggedLineCount = () => written.length
export const secretCount = () => secrets.size
