import { test } from 'tap'
import { InvalidOptionError, type DeviceServerOptions } from '../src/index.js'
import { resolveOptions } from '../src/internal.js'

test('a store or a logger without its methods is refused, naming the option and what it needs', async (t) => {
  const cases: Array<[string, DeviceServerOptions, string]> = [
    ['registry', { registry: {} as never }, 'an object with add, get, remove, list'],
    ['sessions', { sessions: { add () {} } as never }, 'an object with add, get, delete, list'],
    ['results', { results: { put () {} } as never }, 'an object with put, getBySession, getByTaskName, clear'],
    ['logger', { logger: { info () {} } as never }, 'an object with debug, info, warn and error methods'],
    ['now', { now: 5 as never }, 'a function']
  ]
  for (const [option, options, expected] of cases) {
    t.throws(() => resolveOptions(options), { code: 'AIP_ERR_INVALID_OPTION', option, expected }, option)
  }
  const err = (() => { try { resolveOptions({ maxSessions: 0 }) } catch (e) { return e } })()
  t.type(err, InvalidOptionError, 'the shared InvalidOptionError, re-exported by the package')
  t.match(err, { option: 'maxSessions', expected: 'a positive integer', received: '0' })
})
