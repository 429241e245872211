import { test } from 'tap'
import * as root from '../src/index.js'
import * as internal from '../src/internal.js'

test('the telemetry helpers and the error factory are reachable from the internal entry point only', async (t) => {
  for (const name of ['reasonText', 'collectSystemInfo', 'collectLiveReadings', 'referencePlatform', 'detectFeatures', 'platformType', 'primaryIpv4', 'connectionError']) {
    t.ok(name in internal, `${name} is in ./internal`)
    t.notOk(name in root, `${name} is not in the package root`)
  }
})

test('the public API stays in the package root', async (t) => {
  for (const name of ['DeviceClientEndpoint', 'ToolRegistry', 'LIST_TOOLS', 'SKIPPED_TEXT', 'ConnectionError', 'InvalidOptionError']) {
    t.ok(name in root, `${name} is in the package root`)
  }
})
