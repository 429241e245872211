import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'tap'
import { ProtocolErrorCode } from '../src/index.js'

test('every error code is documented in the README error table', async (t) => {
  const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8')
  for (const code of Object.values(ProtocolErrorCode)) {
    t.match(readme, new RegExp(`^\\| \`${code}\` \\|`, 'm'), code)
  }
})
