import { readFileSync } from 'node:fs'
import t from 'tap'
import * as api from '../src/index.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

/** The codes of every error constructor the package exports. */
function exportedCodes (): string[] {
  const codes: string[] = []
  for (const value of Object.values(api)) {
    if (typeof value === 'function' && value.prototype instanceof Error) {
      const err = new (value as new (...args: unknown[]) => Error & { code: string })('x', 1, 'y')
      codes.push(err.code)
    }
  }
  return codes.sort()
}

/** Codes listed in the first column of the README's error table. */
function documentedCodes (): string[] {
  const header = readme.indexOf('| Code | Description | How to solve |')
  const rows = readme.slice(header).split('\n').slice(2)
  const end = rows.findIndex((line) => !line.startsWith('|'))
  return rows.slice(0, end === -1 ? undefined : end).map((line) => line.split('|')[1]?.trim().replace(/`/g, '') ?? '').sort()
}

t.test('every exported error code is documented in the README error table', async (t) => {
  const exported = exportedCodes()
  t.same(exported, [
    'AIP_ERR_ABORTED',
    'AIP_ERR_INVALID_ARGUMENT',
    'AIP_ERR_INVALID_OPTION',
    'AIP_ERR_TIMEOUT'
  ])
  t.same(documentedCodes(), exported, 'the table lists exactly the exported codes')
})

t.test('every code is one of the shared family AIP_ERR_<WHAT>', async (t) => {
  for (const code of exportedCodes()) t.match(code, /^AIP_ERR_[A-Z_]+$/)
})
