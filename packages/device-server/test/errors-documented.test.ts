import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'tap'
import * as exported from '../src/index.js'

const packageDir = join(import.meta.dirname, '..')

/** The shared error family of `@aip/resilience` that the package re-exports. */
const FAMILY = ['AIP_ERR_INVALID_OPTION']

/** The codes declared in src/errors.ts, in order. */
function declaredCodes (): string[] {
  const source = readFileSync(join(packageDir, 'src', 'errors.ts'), 'utf8')
  return [...source.matchAll(/createError(?:<[^>]*>)?\(\s*'(AIP_ERR_(?:SERVER|CLUSTER)_[A-Z_]+)'/g)].map((match) => match[1] as string)
}

test('src/errors.ts declares coded errors, every one exported from the package', async (t) => {
  const codes = declaredCodes()
  t.ok(codes.length >= 6, `found ${codes.length} codes`)
  t.equal(new Set(codes).size, codes.length, 'no code is declared twice')
  const exportedCodes = new Set<string>()
  for (const [name, value] of Object.entries(exported)) {
    if (!name.endsWith('Error') || typeof value !== 'function') continue
    const err = new (value as new () => { code?: unknown })()
    t.type(err, Error, `${name} builds an Error`)
    if (typeof err.code === 'string') exportedCodes.add(err.code)
  }
  t.same([...exportedCodes].sort(), [...codes, ...FAMILY].sort(), 'the index exports an error class for each code, and the shared ones')
})

test('every error code is documented in the README error table', async (t) => {
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8')
  t.match(readme, /^## Errors$/m, 'the README has an Errors section')
  t.match(readme, /^\| Code \| Description \| How to solve \|$/m, 'with the table header')
  for (const code of [...declaredCodes(), ...FAMILY]) {
    t.match(readme, new RegExp(`^\\| \`${code}\` \\|`, 'm'), code)
  }
})
