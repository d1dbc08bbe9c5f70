/** The Postgres suites run on a real server or not at all: PGlite would pass them serially. */
export default function setup() {
  if (!process.env.TEST_DATABASE_URL) throw new Error('TEST_DATABASE_URL is not set: run these suites with `npm run test:postgres`')
}
