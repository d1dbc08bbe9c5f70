import * as z from 'zod/mini'
import { normalizeRecoveryCode } from '../core/recovery-codes'
import { TOTP_CODE_PATTERN } from '../core/two-factor'

// Codes are strings of ASCII digits: a JSON number would lose leading zeros, and `\d` in
// other scripts ('١٢٣٤٥٦') is not what an authenticator shows. Malformed is 422, never 500.
export const totpCodeInput = z.string().check(z.refine((s) => TOTP_CODE_PATTERN.test(s), 'must be a 6-digit code'))

/** A TOTP code or a recovery code. */
export const anyCode = z
  .string()
  .check(z.refine((s) => TOTP_CODE_PATTERN.test(s) || normalizeRecoveryCode(s) !== null, 'must be a 6-digit code or a recovery code'))

export const recoveryCodes = z.array(z.string())

export const twoFactorStatusResult = z.object({ enabled: z.boolean(), recovery_codes_remaining: z.number() })
