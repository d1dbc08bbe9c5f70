import { afterAll } from 'vitest'
import { closeTestDatabases } from './app'

afterAll(closeTestDatabases)
