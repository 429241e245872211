import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'tap'
import * as exported from '../src/index.js'
import { connectError } from '../src/internal.js'

const packageDir = join(import.meta.dirname, '..')

/** The codes declared in src/errors.ts, in order. */
function declaredCodes (): string[] {
  const source = readFileSync(join(packageDir, 'src', 'errors.ts'), 'utf8')
  return [...source.matchAll(/createError(?:<[^>]*>)?\(\s*'(AIP_ERR_CONSTELLATION_[A-Z_]+)'/g)].map((match) => match[1] as string)
}

test('src/errors.ts declares coded errors, every one exported from the package', async (t) => {
  const codes = declaredCodes()
  t.ok(codes.length >= 11, `found ${codes.length} codes`)
  t.equal(new Set(codes).size, codes.length, 'no code is declared twice')
  const exportedCodes = new Set<string>()
  for (const [name, value] of Object.entries(exported)) {
    if (!(name.endsWith('Error') || name === 'ConnectErrorConstructor') || typeof value !== 'function') continue
    const err = new (value as new () => { code?: unknown })()
    t.type(err, Error, `${name} builds an Error`)
    // The shared codes of @aip/resilience (AIP_ERR_INVALID_OPTION...) are re-exported, not declared here.
    const code = (err as { code?: unknown }).code
    if (typeof code === 'string' && code.startsWith('AIP_ERR_CONSTELLATION_')) exportedCodes.add(code)
  }
  t.same([...exportedCodes].sort(), [...codes].sort(), 'the index exports an error constructor for each code')
  const connect = connectError('ws://h/ws', 'dev', 'why', 403)
  t.equal(connect.httpStatus, 403)
  t.type(connect, exported.ConnectErrorConstructor)
})

test('every error code is documented in the README error table', async (t) => {
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8')
  t.match(readme, /^## Errors$/m, 'the README has an Errors section')
  t.match(readme, /^\| Code \| Description \| How to solve \|$/m, 'with the table header')
  for (const code of declaredCodes()) {
    t.match(readme, new RegExp(`^\\| \`${code}\` \\|`, 'm'), code)
  }
})
