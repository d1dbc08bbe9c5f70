import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { lintWorkflow, lintWorkflows } from '../../scripts/lint-workflows.mjs'

describe('npm run lint:workflows', () => {
  it('passes the repository’s workflows', async () => {
    expect(await lintWorkflows()).toEqual([])
  })

  it('catches a step output that does not exist and an action pinned to a moving tag', async () => {
    const text = readFileSync('.github/workflows/preview.yml', 'utf8')
      // biome-ignore lint/suspicious/noTemplateCurlyInString: GitHub Actions expressions, not JavaScript templates
      .replace('URL: ${{ steps.preview.outputs.url }}', 'URL: ${{ steps.previw.outputs.url }}')
      .replace(/actions\/checkout@[0-9a-f]{40} # v[\d.]+/, 'actions/checkout@v7')
    const problems = await lintWorkflow(text, 'preview.yml')
    expect(problems).toEqual([
      expect.stringMatching(/^preview\.yml:\d+:\d+: property "previw" is not defined in object type .* \[expression\]$/),
      expect.stringMatching(/^preview\.yml:\d+:1: pin the action to a commit and name its version: .* \[pin\]$/),
    ])
  })
})
