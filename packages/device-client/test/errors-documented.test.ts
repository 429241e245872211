import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'tap'
import * as exported from '../src/index.js'
import { connectionError } from '../src/internal.js'

const packageDir = join(import.meta.dirname, '..')

function declaredCodes (): string[] {
  const source = readFileSync(join(packageDir, 'src', 'errors.ts'), 'utf8')
  return [...source.matchAll(/createError\(\s*'(AIP_ERR_DEVICE_[A-Z_]+)'/g)].map((match) => match[1] as string)
}

test('every code of src/errors.ts is exported as an error class', async (t) => {
  const codes = declaredCodes()
  t.ok(codes.length >= 10, `found ${codes.length} codes`)
  t.equal(new Set(codes).size, codes.length, 'no code is declared twice')
  const exportedCodes = new Set<string>()
  for (const [name, value] of Object.entries(exported)) {
    if (!/Error$/.test(name) || typeof value !== 'function') continue
    const err = new (value as new () => { code?: unknown })()
    t.type(err, Error, `${name} builds an Error`)
    // The shared codes of @aip/resilience (AIP_ERR_INVALID_OPTION...) are re-exported, not declared here.
    if (typeof err.code === 'string' && err.code.startsWith('AIP_ERR_DEVICE_')) exportedCodes.add(err.code)
  }
  t.same([...exportedCodes].sort(), [...codes].sort())
  const err = connectionError('dev1', 'refused', { httpStatus: 403, closeCode: 4002, cause: new Error('x') })
  t.type(err, exported.ConnectionError)
  t.match(err, { code: 'AIP_ERR_DEVICE_CONNECTION', httpStatus: 403, closeCode: 4002, message: 'Cannot connect device dev1: refused' })
})

test('every code is documented in the README error table', async (t) => {
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8')
  t.match(readme, /^## Errors$/m)
  t.match(readme, /^\| Code \| Description \| How to solve \|$/m)
  for (const code of declaredCodes()) t.match(readme, new RegExp(`^\\| \`${code}\` \\|`, 'm'), code)
})
