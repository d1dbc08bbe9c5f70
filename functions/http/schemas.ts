import * as z from 'zod/mini'
import { isCommonPassword } from '../core/password-policy'
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../core/passwords'

// Request fields shared by several endpoints, and the shapes of the common responses.

export const email = z
  .string()
  .check(z.trim(), z.maxLength(254, 'must be at most 254 characters'), z.email('must be an email address'))

/** A password being set: long enough, and not one of the most common (core/password-policy.ts). */
export const password = z
  .string()
  .check(
    z.minLength(PASSWORD_MIN_LENGTH, `must be at least ${PASSWORD_MIN_LENGTH} characters`),
    z.maxLength(PASSWORD_MAX_LENGTH, `must be at most ${PASSWORD_MAX_LENGTH} characters`),
    z.refine((value) => !isCommonPassword(value), 'is too common'),
  )

/** A password being checked, not set: any non-empty string up to the maximum. */
export const anyPassword = z
  .string()
  .check(z.minLength(1, 'is required'), z.maxLength(PASSWORD_MAX_LENGTH, `must be at most ${PASSWORD_MAX_LENGTH} characters`))

export const name = z
  .string()
  .check(z.trim(), z.minLength(1, 'must not be empty'), z.maxLength(200, 'must be at most 200 characters'))

export const opaqueToken = z.string().check(z.minLength(1, 'is required'), z.maxLength(512, 'is too long'))

export const tokenPair = {
  access_token: z.string(),
  token_type: z.literal('bearer'),
  expires_in: z.number(),
  refresh_token: z.string(),
}

export const loginResult = z.object({
  ...tokenPair,
  user_id: z.uuid(),
  email: z.string(),
  full_name: z.string(),
  organization_id: z.uuid(),
  organization_name: z.string(),
})

export const twoFactorChallenge = z.object({ requires_2fa: z.literal(true), session_token: z.string() })

export const profile = z.object({
  id: z.uuid(),
  email: z.string(),
  full_name: z.string(),
  is_active: z.boolean(),
  is_verified: z.boolean(),
  oauth_provider: z.string(),
  organization_id: z.uuid(),
  organization_name: z.string(),
  created_at: z.iso.datetime(),
})
