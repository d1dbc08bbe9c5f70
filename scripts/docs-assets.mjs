// The /docs page's Scalar bundle, copied from node_modules (`@scalar/api-reference`, pinned
// in package.json) into assets/docs/scalar.js, which Workers static assets serve from our own
// origin (`[assets]` in wrangler.toml; never part of the Worker's script bundle). Generated,
// not committed (4.7 MB): `npm install` runs this (prepare, which a packed tarball installed
// downstream does not run), and so do `npm run dev`,
// `npm run deploy` and `npm run test:browser`. Idempotent; fails only when asked to be strict.
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const PACKAGE = join(ROOT, 'node_modules/@scalar/api-reference')
export const SCALAR_TARGET = join(ROOT, 'assets/docs/scalar.js')

/** Copies the bundle when missing or different; returns the pinned version, or null when the package is absent. */
export function buildDocsAssets({ strict = false } = {}) {
  const source = join(PACKAGE, 'dist/browser/standalone.js')
  if (!existsSync(source)) {
    const message = '@scalar/api-reference is not installed: /docs will render without its reference (run npm install)'
    if (strict) throw new Error(message)
    console.warn(message)
    return null
  }
  const { version } = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8'))
  const same = existsSync(SCALAR_TARGET) && statSync(SCALAR_TARGET).size === statSync(source).size && readFileSync(SCALAR_TARGET).equals(readFileSync(source))
  if (!same) {
    mkdirSync(dirname(SCALAR_TARGET), { recursive: true })
    copyFileSync(source, SCALAR_TARGET)
  }
  return version
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const version = buildDocsAssets({ strict: process.argv.includes('--strict') })
  // stderr: `npm pack --json` runs this (prepare) and its stdout must stay JSON.
  if (version) console.error(`assets/docs/scalar.js: @scalar/api-reference ${version}`)
}
