async function timed(url) {
  const started = performance.now()
  const response = await fetch(url)
  await response.text()
  if (!response.ok) throw new Error(`${url} answered ${response.status}`)
  return performance.now() - started
}

/**
 * Milliseconds per password hash inside workerd: a request doing `n` hashes minus one doing
 * none, best of a few (the isolate is single-threaded and idle, so wall time is CPU time;
 * workerd's clocks do not advance inside a request, so this is timed from outside).
 */
export async function hashCost(url, n = 8, tries = 3) {
  await timed(`${url}?n=1`)
  let zero = Infinity
  let many = Infinity
  for (let i = 0; i < tries; i++) {
    zero = Math.min(zero, await timed(`${url}?n=0`))
    many = Math.min(many, await timed(`${url}?n=${n}`))
  }
  return Math.max(0, (many - zero) / n)
}
