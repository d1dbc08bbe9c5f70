/**
 * Where every injected test clock starts: TEST_CLOCK_START (an ISO 8601 instant) or a fixed
 * default. CI also runs the Node suites a year ahead of and a year behind today, so a test
 * that compares the injected clock with the wall clock (a date bomb) fails there, not on
 * the day it goes off. Expectations about time are written from this instant (`clockAt`).
 */
export const TEST_CLOCK_START: Date = clockStart(process.env.TEST_CLOCK_START)

function clockStart(value: string | undefined): Date {
  if (value === undefined || value === '') return new Date('2026-11-22T12:00:00Z')
  const start = new Date(value)
  if (Number.isNaN(start.getTime())) throw new Error(`TEST_CLOCK_START must be an ISO 8601 instant, e.g. 2027-12-04T12:00:00Z (got ${value})`)
  return start
}

/** The ISO 8601 string of the test clock `seconds` after its start, as the API writes times. */
export const clockAt = (seconds = 0) => new Date(TEST_CLOCK_START.getTime() + seconds * 1000).toISOString()
