import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import { describe, expect, it } from 'vitest'

// Issue #12's "done when", held: a reader finds things where the folder tree says they are.
const ROOT = join(import.meta.dirname, '../..')
const files = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  )
const source = (file: string) => readFileSync(join(ROOT, file), 'utf8')
const functions = files('functions')
/** The files of functions/ a module imports, relative to the repository. */
const importsOf = (file: string) =>
  [...source(file).matchAll(/from '(\.[^']*)'/g)].flatMap(([, spec]) => {
    const path = normalize(join(dirname(file), spec!))
    return [`${path}.ts`, `${path}/index.ts`].filter((f) => functions.includes(f))
  })

describe('the shape of functions/', () => {
  it('imports the /v1 dialect only from itself, app.ts and routes.ts', () => {
    const outside = functions.filter((f) => !f.startsWith('functions/v1/') && !['functions/app.ts', 'functions/routes.ts'].includes(f))
    expect(outside.filter((f) => importsOf(f).some((i) => i.startsWith('functions/v1/')))).toEqual([])
  })

  it('never asks the request path which dialect it is in', () => {
    expect(functions.filter((f) => /startsWith\('\/v1|path === '\/v1'|isV1/.test(source(f)))).toEqual([])
  })

  it('keeps SQL in db/', () => {
    expect(functions.filter((f) => /from 'drizzle-orm'|\bsql`/.test(source(f)))).toEqual([])
  })

  it('keeps every file outside core/ within 120 lines', () => {
    const long = functions.filter((f) => !f.startsWith('functions/core/') && source(f).split('\n').length > 121)
    expect(long).toEqual([])
  })

  it('has no import circle between the configuration and the core', () => {
    const reachable = (from: string, seen = new Set<string>()): Set<string> => {
      for (const next of importsOf(from)) if (!seen.has(next)) reachable(next, seen.add(next))
      return seen
    }
    const circles = functions
      .filter((f) => f.startsWith('functions/config/'))
      .flatMap((f) => importsOf(f).filter((i) => i.startsWith('functions/core/') && [...reachable(i)].some((r) => r.startsWith('functions/config/'))))
    expect(circles).toEqual([])
  })
})
