export async function profileRequests() {
  return { summary: 'todo' }
}
