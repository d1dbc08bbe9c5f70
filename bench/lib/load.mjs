import autocannon from 'autocannon'

/**
 * One bounded autocannon run. `request` is autocannon's request object (method, path,
 * headers, body, setupRequest, onResponse) plus an optional `check(body)`. Only 2xx answers
 * that pass `check` count: a broken scenario shows up as failures, not as a fast error path.
 */
export async function load(url, { check, ...request }, { connections, durationSeconds }) {
  let ok = 0
  let failed = 0
  let failure
  const onResponse = (status, body, context, headers) => {
    if (status >= 200 && status < 300 && (!check || check(String(body)))) ok++
    else {
      failed++
      failure ??= `${status} ${String(body).slice(0, 200)}`
    }
    request.onResponse?.(status, body, context, headers)
  }
  const result = await autocannon({
    url,
    connections,
    duration: durationSeconds,
    timeout: 30,
    requests: [{ ...request, onResponse }],
  })
  failed += result.errors + result.timeouts
  return {
    requestsPerSecond: ok / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok,
    failed,
    failure,
  }
}
