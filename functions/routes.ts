import { listEventsEndpoint } from './auth/events'
import { listIdentitiesEndpoint, unlinkIdentityEndpoint } from './auth/identities'
import { acceptInvitationEndpoint } from './auth/invitation-accept'
import { login } from './auth/login'
import { logout } from './auth/logout'
import { logoutAll } from './auth/logout-all'
import { getMe, patchMe } from './auth/me'
import { changePasswordEndpoint } from './auth/password'
import { forgotPassword } from './auth/password-forgot'
import { resetPasswordEndpoint } from './auth/password-reset'
import { refresh } from './auth/refresh'
import { registerEndpoint } from './auth/register'
import { revokeSessionEndpoint } from './auth/session-revoke'
import { listSessions } from './auth/sessions-list'
import { verifyEmailEndpoint } from './auth/verify-email'
import { resendVerificationEmail } from './auth/verify-email-resend'
import type { Route } from './http/endpoint'
import { authApi } from './http/problem'
import { oauthCallback } from './oauth/callback'
import { getOrganization } from './org/get'
import { createInvitationEndpoint } from './org/invitations-create'
import { listOrganizationInvitations } from './org/invitations-list'
import { revokeInvitationEndpoint } from './org/invitations-revoke'
import { removeOrganizationMember } from './org/member-remove'
import { resetMemberTwoFactorEndpoint } from './org/member-two-factor-reset'
import { updateOrganizationMember } from './org/member-update'
import { listOrganizationMembers } from './org/members-list'
import { updateOrganization } from './org/update'
import { deletePasskeyEndpoint } from './passkeys/delete'
import { listPasskeysEndpoint } from './passkeys/list'
import { passkeyLoginEndpoint } from './passkeys/login'
import { passkeyLoginOptions } from './passkeys/login-options'
import { passkeyRegistration } from './passkeys/registration'
import { passkeyRegistrationOptions } from './passkeys/registration-options'
import { twoFactorPasskeyOptions } from './passkeys/two-factor-options'
import { renamePasskeyEndpoint } from './passkeys/update'
import { health } from './service/health'
import { jwks } from './service/jwks'
import { twoFactorDisable } from './two-factor/disable'
import { twoFactorEnable } from './two-factor/enable'
import { twoFactorRecoveryCodes } from './two-factor/recovery-codes'
import { twoFactorSetup } from './two-factor/setup'
import { twoFactorStatusEndpoint } from './two-factor/status'
import { twoFactorVerify } from './two-factor/verify'
import { v1 } from './v1/dialect'
import { v1Routes } from './v1/routes'
import type { Section } from './service/openapi'

/**
 * The auth API, once: every endpoint's method, path and declaration, registered on the app
 * and described in /openapi.json from here. The /v1 dialect's table is v1/routes.ts.
 */
export const apiRoutes: readonly Route[] = [
  ['post', '/api/v1/auth/register', registerEndpoint],
  ['post', '/api/v1/auth/login', login],
  ['post', '/api/v1/auth/refresh', refresh],
  ['post', '/api/v1/auth/logout', logout],
  ['get', '/api/v1/auth/me', getMe],
  ['patch', '/api/v1/auth/me', patchMe],
  ['post', '/api/v1/auth/password', changePasswordEndpoint],
  ['get', '/api/v1/auth/sessions', listSessions],
  ['delete', '/api/v1/auth/sessions/:id', revokeSessionEndpoint],
  ['post', '/api/v1/auth/logout-all', logoutAll],
  ['get', '/api/v1/auth/events', listEventsEndpoint],
  ['post', '/api/v1/auth/invitations/accept', acceptInvitationEndpoint],
  ['post', '/api/v1/auth/verify-email', verifyEmailEndpoint],
  ['post', '/api/v1/auth/verify-email/resend', resendVerificationEmail],
  ['post', '/api/v1/auth/password/forgot', forgotPassword],
  ['post', '/api/v1/auth/password/reset', resetPasswordEndpoint],

  ['get', '/api/v1/org', getOrganization],
  ['patch', '/api/v1/org', updateOrganization],
  ['get', '/api/v1/org/members', listOrganizationMembers],
  ['patch', '/api/v1/org/members/:user_id', updateOrganizationMember],
  ['delete', '/api/v1/org/members/:user_id', removeOrganizationMember],
  ['post', '/api/v1/org/members/:user_id/2fa/reset', resetMemberTwoFactorEndpoint],
  ['post', '/api/v1/org/invitations', createInvitationEndpoint],
  ['get', '/api/v1/org/invitations', listOrganizationInvitations],
  ['delete', '/api/v1/org/invitations/:id', revokeInvitationEndpoint],
  ['post', '/api/v1/auth/oauth/callback', oauthCallback],
  ['get', '/api/v1/auth/identities', listIdentitiesEndpoint],
  ['delete', '/api/v1/auth/identities/:provider', unlinkIdentityEndpoint],

  ['get', '/api/v1/auth/2fa/status', twoFactorStatusEndpoint],
  ['post', '/api/v1/auth/2fa/setup', twoFactorSetup],
  ['post', '/api/v1/auth/2fa/enable', twoFactorEnable],
  ['post', '/api/v1/auth/2fa/verify', twoFactorVerify],
  ['post', '/api/v1/auth/2fa/recovery-codes', twoFactorRecoveryCodes],
  ['post', '/api/v1/auth/2fa/disable', twoFactorDisable],
  ['post', '/api/v1/auth/2fa/passkey-options', twoFactorPasskeyOptions],

  ['post', '/api/v1/auth/passkeys/registration/options', passkeyRegistrationOptions],
  ['post', '/api/v1/auth/passkeys/registration', passkeyRegistration],
  ['get', '/api/v1/auth/passkeys', listPasskeysEndpoint],
  ['patch', '/api/v1/auth/passkeys/:id', renamePasskeyEndpoint],
  ['delete', '/api/v1/auth/passkeys/:id', deletePasskeyEndpoint],
  ['post', '/api/v1/auth/passkeys/login/options', passkeyLoginOptions],
  ['post', '/api/v1/auth/passkeys/login', passkeyLoginEndpoint],
]

/** The service's own routes, in the auth API's error dialect. */
export const serviceRoutes: readonly Route[] = [
  ['get', '/health', health],
  ['get', '/.well-known/jwks.json', jwks],
]

/** Every documented route by dialect, in the order of /openapi.json. */
export const sections: readonly Section[] = [
  { dialect: authApi, routes: apiRoutes },
  { dialect: v1, routes: v1Routes },
  { dialect: authApi, routes: serviceRoutes },
]

/** Every documented route with its full path. */
export const routes: readonly Route[] = sections.flatMap(({ dialect, routes }) =>
  routes.map(([method, path, endpoint]): Route => [method, dialect.base + path, endpoint]),
)
