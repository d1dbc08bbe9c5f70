import * as z from 'zod/mini'
import { anyPassword, name } from '../http/schemas'

// The WebAuthn JSON forms (Level 3 §5.1.8–§5.1.9: `credential.toJSON()`), as untrusted input:
// every binary field is base64url text, bounded; what they hold is checked in core/.

const MAX_BINARY_CHARS = 12 * 1024

const base64url = (max = MAX_BINARY_CHARS) =>
  z.string().check(z.maxLength(max, `must be at most ${max} characters`), z.regex(/^[A-Za-z0-9_-]*$/, 'must be base64url'))

// §5.1.4.1 credential ids are at most 1023 bytes: 1364 base64url characters.
const credentialId = base64url(1364).check(z.minLength(1, 'is required'))

const common = {
  id: credentialId,
  rawId: credentialId,
  type: z.literal('public-key'),
  authenticatorAttachment: z.optional(z.nullable(z.string().check(z.maxLength(32)))),
  clientExtensionResults: z.optional(z.record(z.string(), z.unknown())),
}

export const registrationResponse = z.object({
  ...common,
  response: z.object({
    clientDataJSON: base64url(),
    attestationObject: base64url(),
    transports: z.optional(z.array(z.string().check(z.maxLength(32))).check(z.maxLength(10, 'must list at most 10'))),
  }),
})

export const authenticationResponse = z.object({
  ...common,
  response: z.object({
    clientDataJSON: base64url(),
    authenticatorData: base64url(),
    signature: base64url(),
    userHandle: z.optional(z.nullable(base64url(128))),
  }),
})

export const passkeyName = name.check(z.maxLength(100, 'must be at most 100 characters'))

export const passkeyResult = z.object({ id: z.uuid(), name: z.string(), created_at: z.iso.datetime(), last_used_at: z.nullable(z.iso.datetime()) })

const descriptor = z.object({ type: z.literal('public-key'), id: z.string(), transports: z.optional(z.array(z.string())) })

/** PublicKeyCredentialCreationOptionsJSON, for `PublicKeyCredential.parseCreationOptionsFromJSON`. */
export const creationOptions = z.object({
  rp: z.object({ id: z.string(), name: z.string() }),
  user: z.object({ id: z.string(), name: z.string(), displayName: z.string() }),
  challenge: z.string(),
  pubKeyCredParams: z.array(z.object({ type: z.literal('public-key'), alg: z.number() })),
  timeout: z.number(),
  excludeCredentials: z.array(descriptor),
  authenticatorSelection: z.object({ residentKey: z.string(), requireResidentKey: z.boolean(), userVerification: z.string() }),
  attestation: z.literal('none'),
  extensions: z.object({ credProps: z.boolean() }),
})

/** PublicKeyCredentialRequestOptionsJSON, for `PublicKeyCredential.parseRequestOptionsFromJSON`. */
export const requestOptions = z.object({
  challenge: z.string(),
  timeout: z.number(),
  rpId: z.string(),
  allowCredentials: z.array(descriptor),
  userVerification: z.string(),
})

export const registrationOptionsBody = z.object({ password: z.optional(anyPassword) })
