import { readFileSync } from 'node:fs'
import t from 'tap'
import * as api from '../src/index.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

/** The shared error family of `@aip/resilience`, re-exported here. */
const FAMILY = ['AIP_ERR_INVALID_OPTION', 'AIP_ERR_INVALID_ARGUMENT']

function exportedCodes (): string[] {
  const codes = new Set<string>()
  for (const value of Object.values(api)) {
    if (typeof value === 'function' && value.prototype instanceof Error) {
      const err = new (value as new (...args: unknown[]) => Error & { code: string })('x', 1, 'y')
      codes.add(err.code)
    }
  }
  return [...codes].sort()
}

t.test('every exported error code is documented in a row of the README error table', async (t) => {
  const codes = exportedCodes()
  t.ok(codes.length >= 15)
  for (const code of codes) {
    t.ok(/^AIP_ERR_ENDPOINT_[A-Z_]+$/.test(code) || FAMILY.includes(code), `${code} is a package code or of the shared family`)
    t.ok(readme.split('\n').some((line) => line.startsWith(`| \`${code}\` |`)), `${code} is documented`)
  }
})

t.test('the connect error hides the query values of the URL', async (t) => {
  const err = api.connectError('ws://h/ws?token=abc', 'refused', 401)
  t.equal(err.httpStatus, 401)
  t.notMatch(err.message, /abc/)
  t.equal(api.redactUrl('ws://h/ws'), 'ws://h/ws')
})
