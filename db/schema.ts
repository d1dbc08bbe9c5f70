import { sql } from 'drizzle-orm'
import {
  bigint,
  bigserial,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core'

const createdAt = (name = 'created_at') => timestamp(name, { withTimezone: true, mode: 'date' }).notNull().defaultNow()
const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' })

export const organizations = pgTable('organizations', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  createdAt: createdAt(),
})

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    email: text('email').notNull(),
    // Trimmed and lower-cased: the unique index on it is what makes emails case-insensitive.
    emailNormalized: text('email_normalized').notNull(),
    // Null for accounts that only ever signed in through OAuth.
    passwordHash: text('password_hash'),
    fullName: text('full_name').notNull(),
    isActive: boolean('is_active').notNull().default(true),
    isVerified: boolean('is_verified').notNull().default(false),
    // Whether the account holds its address: login, reset and registration find it by email.
    // False while the address is only a contact address, from a provider that did not vouch
    // for it; verifying the address claims it then, if nobody else holds it.
    ownsEmail: boolean('owns_email').notNull().default(true),
    oauthProvider: text('oauth_provider').notNull().default('local'),
    // TOTP: the secret is AES-GCM ciphertext; the key id beside it lets the key rotate.
    totpSecret: text('totp_secret'),
    totpKeyId: text('totp_key_id'),
    totpEnabledAt: at('totp_enabled_at'),
    // RFC 6238 §5.2: the last accepted time step, so a code is never accepted twice.
    totpLastStep: bigint('totp_last_step', { mode: 'number' }),
    createdAt: createdAt(),
    updatedAt: createdAt('updated_at'),
  },
  (t) => [uniqueIndex('users_email_normalized_key').on(t.emailNormalized).where(sql`${t.ownsEmail}`)],
)

export const roles = ['owner', 'admin', 'member'] as const
export type Role = (typeof roles)[number]

// One account, one organization for now: user_id is the key.
export const memberships = pgTable(
  'memberships',
  {
    userId: uuid('user_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    role: text('role', { enum: roles }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('memberships_org_id_idx').on(t.orgId), check('memberships_role_check', sql`${t.role} in ('owner', 'admin', 'member')`)],
)

export const sessions = pgTable(
  'sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    lastUsedAt: createdAt('last_used_at'),
    // Absolute lifetime: refresh rotation never extends a session past this.
    expiresAt: at('expires_at').notNull(),
    revokedAt: at('revoked_at'),
    userAgent: text('user_agent'),
    ip: text('ip'),
  },
  (t) => [index('sessions_user_id_idx').on(t.userId)],
)

export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    // SHA-256 of the opaque token, base64url. The token itself is never stored.
    tokenHash: text('token_hash').primaryKey(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    expiresAt: at('expires_at').notNull(),
    usedAt: at('used_at'),
  },
  (t) => [index('refresh_tokens_session_id_idx').on(t.sessionId)],
)

// Step one of a two-step login: the opaque session_token handed out instead of tokens.
export const twoFactorChallenges = pgTable('two_factor_challenges', {
  tokenHash: text('token_hash').primaryKey(),
  userId: uuid('user_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  createdAt: createdAt(),
  expiresAt: at('expires_at').notNull(),
  failedAttempts: integer('failed_attempts').notNull().default(0),
  usedAt: at('used_at'),
  userAgent: text('user_agent'),
  ip: text('ip'),
  // The passkey that was the first factor (used without user verification): as the second
  // factor it then counts only with user verification, or one key would be both factors.
  firstFactorPasskeyId: uuid('first_factor_passkey_id'),
})

export const recoveryCodes = pgTable(
  'recovery_codes',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    codeHash: text('code_hash').notNull(),
    createdAt: createdAt(),
    usedAt: at('used_at'),
  },
  (t) => [uniqueIndex('recovery_codes_user_code_key').on(t.userId, t.codeHash)],
)

export const oauthIdentities = pgTable(
  'oauth_identities',
  {
    provider: text('provider').notNull(),
    // The provider's stable subject (for Microsoft: tenant id and object id), never an email.
    subject: text('subject').notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    email: text('email'),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.provider, t.subject] }), index('oauth_identities_user_id_idx').on(t.userId)],
)

// Single-use tokens sent by mail: email verification, password reset.
export const emailTokens = pgTable(
  'email_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    purpose: text('purpose', { enum: ['verify_email', 'password_reset'] }).notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    expiresAt: at('expires_at').notNull(),
    usedAt: at('used_at'),
  },
  (t) => [index('email_tokens_user_id_idx').on(t.userId)],
)

export const invitations = pgTable(
  'invitations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    emailNormalized: text('email_normalized').notNull(),
    role: text('role', { enum: roles }).notNull(),
    tokenHash: text('token_hash').notNull(),
    invitedBy: uuid('invited_by').references(() => users.id, { onDelete: 'set null' }),
    // Not mailed yet: the inviter's own address is unproven. Its mail goes out (with a new
    // token) when the inviter verifies; until then it cannot be accepted.
    held: boolean('held').notNull().default(false),
    createdAt: createdAt(),
    expiresAt: at('expires_at').notNull(),
    acceptedAt: at('accepted_at'),
    revokedAt: at('revoked_at'),
  },
  (t) => [uniqueIndex('invitations_token_hash_key').on(t.tokenHash), index('invitations_org_id_idx').on(t.orgId)],
)

// Append-only: rows are inserted, never updated. Never a password, code or token in here.
export const authEvents = pgTable(
  'auth_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    createdAt: createdAt(),
    type: text('type').notNull(),
    outcome: text('outcome').notNull(),
    userId: uuid('user_id'),
    orgId: uuid('org_id'),
    ip: text('ip'),
    userAgent: text('user_agent'),
    detail: jsonb('detail'),
  },
  (t) => [index('auth_events_user_id_created_at_idx').on(t.userId, t.createdAt)],
)

// Counters every isolate shares: one row per limited key (e.g. "login:ip:203.0.113.7").
export const rateLimits = pgTable('rate_limits', {
  key: text('key').primaryKey(),
  count: integer('count').notNull().default(0),
  windowStartedAt: createdAt('window_started_at'),
  lockedUntil: at('locked_until'),
})

// The development mail transport: mail lands here and is readable at GET /dev/mail.
export const mailOutbox = pgTable('mail_outbox', {
  id: uuid('id').primaryKey().defaultRandom(),
  to: text('to').notNull(),
  subject: text('subject').notNull(),
  text: text('text').notNull(),
  createdAt: createdAt(),
})

// WebAuthn credentials (passkeys). The public key is kept as a JWK, ready for Web Crypto;
// a credential id belongs to one user only (WebAuthn §7.1 step 22: refuse one seen before).
export const passkeys = pgTable(
  'passkeys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    // base64url of the raw credential id, as the browser's JSON forms carry it.
    credentialId: text('credential_id').notNull(),
    publicKey: jsonb('public_key').$type<JsonWebKey>().notNull(),
    // COSE algorithm identifier: -7 ES256, -257 RS256, -8 EdDSA.
    algorithm: integer('algorithm').notNull(),
    // WebAuthn §6.1.1: 0 when the authenticator keeps no counter (synced passkeys).
    signCount: bigint('sign_count', { mode: 'number' }).notNull().default(0),
    transports: jsonb('transports').$type<string[]>().notNull().default([]),
    backupEligible: boolean('backup_eligible').notNull().default(false),
    name: text('name').notNull(),
    createdAt: createdAt(),
    lastUsedAt: at('last_used_at'),
  },
  (t) => [uniqueIndex('passkeys_credential_id_key').on(t.credentialId), index('passkeys_user_id_idx').on(t.userId)],
)

export const webauthnCeremonies = ['registration', 'login', 'second_factor'] as const

// One row per challenge handed to a browser: stored as a hash, deleted by the one request
// that uses it, and bound to its ceremony and (when known) its user.
export const webauthnChallenges = pgTable(
  'webauthn_challenges',
  {
    challengeHash: text('challenge_hash').primaryKey(),
    ceremony: text('ceremony', { enum: webauthnCeremonies }).notNull(),
    // Null for a sign-in that names no account (discoverable credentials), or one that
    // named an unknown email: then `user_bound` holds and no credential can match.
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    userBound: boolean('user_bound').notNull(),
    // A second factor: the hash of the 2FA session_token the challenge was issued for.
    sessionTokenHash: text('session_token_hash'),
    createdAt: createdAt(),
    expiresAt: at('expires_at').notNull(),
  },
  (t) => [index('webauthn_challenges_expires_at_idx').on(t.expiresAt)],
)
