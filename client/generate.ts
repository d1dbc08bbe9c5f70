import openapiTS, { astToString } from 'openapi-typescript'
import type { OpenAPI3 } from 'openapi-typescript'

export const SCHEMA_FILE = 'client/schema.ts'

const HEADER = `// Generated from Gatehouse's /openapi.json by openapi-typescript (npm run client:generate).
// Do not edit: test/api/client.test.ts fails when this file and the live document disagree.

`

/** The TypeScript types of an OpenAPI document, as client/schema.ts holds them. */
export async function clientTypes(document: unknown): Promise<string> {
  const ast = await openapiTS(document as OpenAPI3, { alphabetize: false, exportType: false })
  return HEADER + astToString(ast)
}
