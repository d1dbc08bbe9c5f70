import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { delimiter, join } from 'node:path'

let found: string | undefined

/**
 * Debian's `oathtool` (package oathtool): an implementation of RFC 6238 independent of ours.
 * Missing is a failure, never a skip: .ci/run installs it.
 */
function oathtoolPath(): string {
  if (found) return found
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin']
  found = dirs.map((dir) => join(dir, 'oathtool')).find((path) => existsSync(path))
  if (!found) throw new Error('oathtool is not installed: apt-get update && apt-get install -y oathtool')
  return found
}

/** The TOTP code (SHA-1, 6 digits, 30 s) of a base32 secret at a moment, as oathtool computes it. */
export function oathtoolTotp(base32Secret: string, at: Date): string {
  const now = `@${Math.floor(at.getTime() / 1000)}`
  return execFileSync(oathtoolPath(), ['--totp', '--base32', '--now', now, base32Secret], { encoding: 'utf8' }).trim()
}
