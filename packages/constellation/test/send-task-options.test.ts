import { test } from 'tap'
import { connectedConstellation, grantingServer, nextEvent, useClock } from './continuity-helpers.js'

test('sendTaskToDevice(deviceId, request, { signal, timeoutMs }): the options take the place of the request\'s own', async (t) => {
  const server = await grantingServer(t, [])
  const constellation = await connectedConstellation(t, server.url)
  const INVALID = { code: 'AIP_ERR_INVALID_ARGUMENT' }
  await t.rejects(constellation.sendTaskToDevice('dev1', { request: 'a' }, 42 as never), { ...INVALID, argument: 'options' })
  await t.rejects(constellation.sendTaskToDevice('dev1', { request: 'a' }, { timeoutMs: 0 }), { ...INVALID, argument: 'options.timeoutMs' })
  const aborted = AbortSignal.abort()
  await t.rejects(constellation.sendTaskToDevice('dev1', { request: 'a' }, { signal: aborted }), { code: 'AIP_ERR_CONSTELLATION_TASK_ABORTED' })

  const clock = useClock(t)
  const acked = nextEvent(constellation, 'taskAck')
  const controller = new AbortController()
  const timed = constellation.sendTaskToDevice('dev1', { request: 'a', taskId: 'a', timeoutMs: 60_000, signal: controller.signal }, { timeoutMs: 500 })
  await acked
  clock.advance(500)
  await t.rejects(timed, { code: 'AIP_ERR_TIMEOUT', timeoutMs: 500 }, 'the options\' deadline')
  const other = new AbortController()
  const acked2 = nextEvent(constellation, 'taskAck')
  const signalled = constellation.sendTaskToDevice('dev1', { request: 'b', taskId: 'b' }, { signal: other.signal })
  await acked2
  other.abort()
  await t.rejects(signalled, { code: 'AIP_ERR_CONSTELLATION_TASK_ABORTED' }, 'the options\' signal')
})
