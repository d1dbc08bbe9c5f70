import type { TestApp } from './app'
import { uniqueEmail } from './app'

export type Role = 'owner' | 'admin' | 'member'

/** The auth API's login response, and the password that goes with it. */
export interface SignedIn {
  access_token: string
  refresh_token: string
  user_id: string
  email: string
  full_name: string
  organization_id: string
  organization_name: string
  password: string
}

/** `t.register` with the login response typed. */
export const registerOwner = (t: TestApp, fields: Parameters<TestApp['register']>[0] = {}) =>
  t.register(fields) as Promise<unknown> as Promise<SignedIn>

/**
 * An owner whose address is verified through the mailed link, as an inviter must be for
 * invitations to go out (an unverified inviter's are held).
 */
export async function registerVerifiedOwner(t: TestApp, fields: Parameters<TestApp['register']>[0] = {}) {
  const owner = await registerOwner(t, fields)
  await verifyAddress(t, owner.email)
  return owner
}

/** Follows the newest verification link mailed to `email`. */
export async function verifyAddress(t: TestApp, email: string) {
  const token = /\/verify-email\?token=([A-Za-z0-9_-]+)/.exec((await lastMailTo(t, email)).text)![1]!
  const res = await t.post('/api/v1/auth/verify-email', { token })
  if (res.status !== 200) throw new Error(`verify-email failed: ${res.status} ${await res.text()}`)
}

/** The newest mail to `to` in the development outbox (the app must run with ENVIRONMENT=development). */
export async function lastMailTo(t: TestApp, to: string) {
  const res = await t.get(`/dev/mail?to=${encodeURIComponent(to)}`)
  if (res.status !== 200) throw new Error(`GET /dev/mail failed: ${res.status} ${await res.text()}`)
  const { messages } = (await res.json()) as { messages: { to: string; subject: string; text: string }[] }
  if (!messages[0]) throw new Error(`no mail to ${to}`)
  return messages[0]
}

/** The invitation token in a mailed link. */
export const tokenIn = (text: string) => /accept-invitation\?token=([A-Za-z0-9_-]+)/.exec(text)![1]!

/** Invites `email` as `role` with `inviterToken` and returns the token from the mail. */
export async function inviteAndReadToken(t: TestApp, inviterToken: string, role: Role, email = uniqueEmail(role)) {
  const res = await t.post('/api/v1/org/invitations', { email, role }, inviterToken)
  if (res.status !== 201) throw new Error(`invite failed: ${res.status} ${await res.text()}`)
  const invitation = (await res.json()) as { id: string }
  return { email, id: invitation.id, token: tokenIn((await lastMailTo(t, email)).text) }
}

/** A new user in the inviter's organization with `role`, signed in (the login response). */
export async function addMember(t: TestApp, inviterToken: string, role: Role, fullName = `A ${role}`): Promise<SignedIn> {
  const { token } = await inviteAndReadToken(t, inviterToken, role)
  const res = await t.post('/api/v1/auth/invitations/accept', { token, password: 'correct horse battery staple', full_name: fullName })
  if (res.status !== 201) throw new Error(`accept failed: ${res.status} ${await res.text()}`)
  return { ...((await res.json()) as SignedIn), password: 'correct horse battery staple' }
}
