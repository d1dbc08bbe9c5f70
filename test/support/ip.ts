let clients = 0

/**
 * A client address no other app, worker request or helper of this process uses
 * (198.18.0.0/15, the benchmarking range), so per-IP rate limits of one test never reach another's.
 */
export const uniqueIp = () => {
  const n = ++clients
  return `198.${18 + ((n >> 16) & 1)}.${(n >> 8) & 255}.${n & 255}`
}
