import { test } from 'tap'
import * as root from '../src/index.js'
import * as internal from '../src/internal.js'

test('the connect error factory is reachable from the internal entry point only', async (t) => {
  t.ok('connectError' in internal, 'connectError is in ./internal')
  t.notOk('connectError' in root, 'connectError is not in the package root')
})

test('the public API stays in the package root', async (t) => {
  for (const name of ['ConstellationEndpoint', 'normalizeDeviceInfo', 'ConnectErrorConstructor', 'StoppedError', 'InvalidOptionError']) {
    t.ok(name in root, `${name} is in the package root`)
  }
})
