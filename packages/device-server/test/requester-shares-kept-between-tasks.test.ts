import { test } from 'tap'
import { TypedEmitter } from '@aip/resilience'
import { ServerCore } from '../src/core.js'
import { resolveOptions } from '../src/options.js'
import type { DeviceServerEvents } from '../src/types.js'

function core (): ServerCore {
  return new ServerCore({
    options: resolveOptions({}),
    events: new TypedEmitter<DeviceServerEvents>(() => {}),
    onDeviceDisconnected: async () => {},
    attach: () => { throw new Error('no connection in this test') },
    onLoadChange: () => {}
  })
}

test('a requester share at nothing is kept for its next task, counted from zero; idle shares are dropped past a bound', async (t) => {
  const server = core()
  // Requesters taking turns, one task at a time each: their entries stay, at nothing between tasks.
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 10; i++) server.charge(`c${i}`, 1, 100)
    t.same(server.usage.get('c3'), { sessions: 1, bytes: 100 }, 'a running task is charged once')
    for (let i = 0; i < 10; i++) server.charge(`c${i}`, -1, -100)
  }
  t.equal(server.usage.size, 10, 'one entry per requester, reused by each task')
  t.same(server.usage.get('c3'), { sessions: 0, bytes: 0 })
  // A running requester's share survives the sweep of idle ones.
  server.charge('busy', 2, 50)
  for (let i = 0; i < 5000; i++) {
    server.charge(`r${i}`, 1, 1)
    server.charge(`r${i}`, -1, -1)
  }
  t.ok(server.usage.size <= 4097 + 1, `idle entries are bounded (${server.usage.size})`)
  t.same(server.usage.get('busy'), { sessions: 2, bytes: 50 }, 'the running requester keeps its share')
  server.charge('busy', -2, -50)
  t.same(server.usage.get('busy'), { sessions: 0, bytes: 0 })
})
