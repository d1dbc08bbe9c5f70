// The few calls of Neon's API (https://api-docs.neon.tech/reference) a preview needs, over an
// injectable fetch so tests run them against a local fake of the API.

export class NeonError extends Error {}

/**
 * @param {{ apiKey: string, projectId: string, apiHost?: string, fetch?: typeof fetch,
 *   sleep?: (ms: number) => Promise<void> }} options
 */
export function neonApi({ apiKey, projectId, apiHost = 'https://console.neon.tech/api/v2', fetch = globalThis.fetch, sleep }) {
  if (!apiKey) throw new NeonError('NEON_API_KEY is not set')
  if (!projectId) throw new NeonError('NEON_PROJECT_ID is not set')
  sleep ??= (ms) => new Promise((resolve) => setTimeout(resolve, ms))
  const project = `${apiHost.replace(/\/+$/, '')}/projects/${encodeURIComponent(projectId)}`

  async function call(method, path, body) {
    // 423 Locked: another operation on the project (a branch being created) is still running.
    for (let attempt = 1; ; attempt++) {
      const res = await fetch(`${project}${path}`, {
        method,
        headers: { Authorization: `Bearer ${apiKey}`, Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      })
      if (res.status === 423 && attempt < 10) {
        await res.body?.cancel()
        await sleep(Math.min(500 * attempt, 5000))
        continue
      }
      const text = await res.text()
      if (!res.ok) {
        const error = new NeonError(`Neon API ${method} ${path.split('?')[0]} answered ${res.status}: ${text.slice(0, 200)}`)
        error.status = res.status
        throw error
      }
      return text ? JSON.parse(text) : null
    }
  }

  /** Waits for Neon's operations (a branch's creation, a password's reset) to finish. */
  async function settled(operations = []) {
    for (const { id } of operations) {
      for (let attempt = 1; ; attempt++) {
        const { operation } = await call('GET', `/operations/${encodeURIComponent(id)}`)
        if (operation.status === 'finished' || operation.status === 'skipped') break
        if (['failed', 'error', 'cancelled', 'cancelling'].includes(operation.status))
          throw new NeonError(`Neon operation ${operation.action ?? id} ended ${operation.status}`)
        if (attempt >= 120) throw new NeonError(`Neon operation ${operation.action ?? id} still ${operation.status} after 2 minutes`)
        await sleep(1000)
      }
    }
  }

  return {
    /** The branch with exactly this name, or null. */
    async findBranch(name) {
      const { branches } = await call('GET', `/branches?search=${encodeURIComponent(name)}`)
      return branches.find((b) => b.name === name) ?? null
    },
    /**
     * A new branch with a read-write compute. `schemaOnly` copies the parent's schema and no row
     * (Neon's `init_source: "schema-only"`).
     */
    async createBranch({ name, parentId, schemaOnly = false }) {
      const { branch, operations } = await call('POST', '/branches', {
        branch: { name, parent_id: parentId, ...(schemaOnly ? { init_source: 'schema-only' } : {}) },
        endpoints: [{ type: 'read_write' }],
      })
      await settled(operations)
      return branch
    },
    /**
     * A new password for the role on this branch only (roles belong to a branch: a child starts
     * with copies of its parent's, passwords included).
     */
    async resetPassword(branchId, role = 'neondb_owner') {
      const { operations } = await call('POST', `/branches/${encodeURIComponent(branchId)}/roles/${encodeURIComponent(role)}/reset_password`)
      await settled(operations)
    },
    /** The direct (unpooled) connection string of the branch's read-write compute. */
    async connectionUri(branchId, { database = 'neondb', role = 'neondb_owner' } = {}) {
      const query = new URLSearchParams({ branch_id: branchId, database_name: database, role_name: role })
      const { uri } = await call('GET', `/connection_uri?${query}`)
      return uri
    },
    async deleteBranch(branchId) {
      await call('DELETE', `/branches/${encodeURIComponent(branchId)}`)
    },
  }
}
