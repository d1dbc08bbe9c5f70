import fc from 'fast-check'
import type { Arbitrary } from 'fast-check'
import type * as z from 'zod/mini'

// Request parts derived from an endpoint's own declared schema (EndpointSpec.body): a new
// endpoint is fuzzed as soon as it is in the route table. Values near the schema reach the
// handlers; values off it, and keys no schema names, test everything in front of them.

/** Keys that mean something to a JavaScript object, a query language or a template engine. */
export const HOSTILE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '$where',
  '$gt',
  '$ne',
  '$regex',
  '{{7*7}}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, on purpose
  '${7*7}',
  '',
  ' ',
  '\u0000',
]

/** Strings that have broken parsers, databases and logs before. */
const nastyString = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\ud800',
    '\udfff',
    'a\u0000b',
    '\u202e',
    "'; drop table users; --",
    '" or 1=1 --',
    '%00',
    '../../etc/passwd',
    '<script>alert(1)</script>',
    'null',
    'undefined',
    'NaN',
    '-1',
    '1e309',
    '0x10',
    '🔥'.repeat(70),
    'x'.repeat(300),
    'a@b',
    '@example.com',
    'a@b.co',
    'A@B.CO ',
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 20 }),
)

/** The keys that have broken field-keyed maps, picked most often. */
const hostileKey = fc.oneof(
  { arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype'), weight: 2 },
  { arbitrary: fc.constantFrom(...HOSTILE_KEYS), weight: 1 },
)

/** Strings the body reader refuses (null bytes, lone surrogates). */
const unsafeString = fc.constantFrom('\u0000', '\ud800', 'x\u0000', '\udfffx')

const json: Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308),
    nastyString,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.array(fc.tuple(fc.oneof(hostileKey, fc.string({ maxLength: 8 })), tie('value')), { maxLength: 4 }).map(own),
  ),
})).value

/** Any JSON value, hostile keys included at every depth. */
export const anyJson = json

/** An object whose keys are all own properties, `__proto__` too (as JSON.parse makes them). */
function own(entries: [string, unknown][]): Record<string, unknown> {
  const o: Record<string, unknown> = {}
  for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
  return o
}

type Def = { type: string; [key: string]: any }
const defOf = (schema: z.ZodMiniType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def

function stringFor(def: Def, pool: string[]): Arbitrary<string> {
  const checks: Def[] = (def.checks ?? []).map((c: { _zod: { def: Def } }) => c._zod.def)
  const min = checks.find((c) => c.check === 'min_length')?.minimum ?? 0
  const max = checks.find((c) => c.check === 'max_length')?.maximum ?? 64
  const format = def.format ?? checks.find((c) => c.check === 'string_format')?.format
  const near: Arbitrary<string>[] = [fc.string({ minLength: min, maxLength: Math.min(max, min + 24) })]
  if (format === 'email') near.push(fc.emailAddress())
  if (format === 'uuid') near.push(fc.uuid())
  // 6 digits and recovery-code shapes reach the 2FA checks.
  near.push(fc.stringMatching(/^[0-9]{6}$/), fc.stringMatching(/^[a-z0-9]{5}-[a-z0-9]{5}$/))
  if (pool.length) near.push(fc.constantFrom(...pool))
  return fc.oneof({ arbitrary: fc.oneof(...near), weight: 4 }, { arbitrary: nastyString, weight: 1 })
}

/**
 * Values for `schema`: mostly shaped like it (so requests get past validation and into the
 * handlers), sometimes anything at all. `pool` holds known-good strings (emails, ids).
 */
export function arbitraryFor(schema: z.ZodMiniType | undefined, pool: string[] = []): Arbitrary<unknown> {
  if (!schema) return anyJson
  const def = defOf(schema)
  const near = ((): Arbitrary<unknown> => {
    switch (def.type) {
      case 'object': {
        const fields = Object.entries(def.shape as Record<string, z.ZodMiniType>)
        const known = fc.record(Object.fromEntries(fields.map(([k, v]) => [k, arbitraryFor(v, pool)])), {
          requiredKeys: [],
        }) as Arbitrary<Record<string, unknown>>
        // Keys no schema names, with the values most likely to fail the checks in front of the schema.
        const extra = fc.array(fc.tuple(hostileKey, fc.oneof(unsafeString, anyJson)), { maxLength: 2 })
        return fc.tuple(known, extra).map(([a, b]) => own([...Object.entries(a), ...b]))
      }
      case 'string':
        return stringFor(def, pool)
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'readonly':
        return fc.oneof(arbitraryFor(def.innerType, pool), fc.constant(def.type === 'nullable' ? null : undefined))
      case 'pipe':
        return arbitraryFor(def.in, pool)
      case 'enum':
        return fc.constantFrom(...Object.values(def.entries as Record<string, string>))
      case 'literal':
        return fc.constantFrom(...(def.values as unknown[]))
      case 'boolean':
        return fc.boolean()
      case 'number':
      case 'int':
        return fc.oneof(fc.integer(), fc.double())
      case 'union':
        return fc.oneof(...(def.options as z.ZodMiniType[]).map((o) => arbitraryFor(o, pool)))
      case 'array':
        return fc.array(arbitraryFor(def.element, pool), { maxLength: 3 })
      default:
        return anyJson
    }
  })()
  return fc.oneof({ arbitrary: near, weight: 5 }, { arbitrary: anyJson, weight: 1 })
}

/** Values for a path parameter: well-formed ids (some known), and anything. */
export const pathParam = (pool: string[]) =>
  fc.oneof(
    fc.uuid(),
    fc.constantFrom(...(pool.length ? pool : ['x'])),
    nastyString.filter((s) => s.length > 0),
  )

/** A query string of names endpoints read (and some nobody reads), with hostile values. */
export const queryString = fc
  .dictionary(
    fc.constantFrom('limit', 'offset', 'cursor', 'page', 'to', '__proto__', 'constructor', 'limit[]', 'q'),
    fc.oneof(fc.constantFrom('0', '1', '-1', '100', '101', '1e3', 'NaN', '99999999999999999999'), nastyString),
    { maxKeys: 3 },
  )
  .map((params) => {
    const entries = Object.entries(params)
    return entries.length ? `?${entries.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}` : ''
  })
