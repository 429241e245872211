import t from 'tap'
import { ReconnectionPolicy, ReconnectionStrategy } from '../src/index.js'
import type { ReconnectableEndpoint } from '../src/index.js'
import { drive, recordingLogger, useClock } from './helpers.js'

function endpointLog (results: boolean[], failHooks = false) {
  const log: string[] = []
  const endpoint: Required<ReconnectableEndpoint> = {
    async cancelDeviceTasks (deviceId, reason) {
      log.push(`cancel ${deviceId} ${reason}`)
      if (failHooks) throw new Error('cancel failed')
    },
    onDeviceDisconnected (deviceId) {
      log.push(`disconnected ${deviceId}`)
      if (failHooks) throw new Error('notify failed')
    },
    async reconnectDevice (deviceId) {
      log.push(`reconnect ${deviceId}`)
      return results.shift() ?? false
    }
  }
  return { endpoint, log }
}

t.test('cancels tasks, notifies, reconnects, then calls onReconnect, in that order', async (t) => {
  const clock = useClock(t)
  const strategy = new ReconnectionStrategy({ jitter: false })
  const { endpoint, log } = endpointLog([false, true])
  const done = strategy.handleDisconnection(endpoint, 'd1', async () => { log.push('onReconnect') })
  t.equal(await drive(clock, done), true)
  t.same(log, ['cancel d1 device_disconnected', 'disconnected d1', 'reconnect d1', 'reconnect d1', 'onReconnect'])
})

t.test('works with an endpoint that only has reconnectDevice', async (t) => {
  const clock = useClock(t)
  const strategy = new ReconnectionStrategy({ jitter: false })
  t.equal(await drive(clock, strategy.handleDisconnection({ reconnectDevice: () => true }, 'd1')), true)
})

t.test('hook and callback errors are logged, not thrown', async (t) => {
  const clock = useClock(t)
  const logger = recordingLogger()
  const strategy = new ReconnectionStrategy({ jitter: false, logger })
  const { endpoint, log } = endpointLog([true], true)
  const done = strategy.handleDisconnection(endpoint, 'd1', () => { throw new Error('callback failed') })
  t.equal(await drive(clock, done), true)
  t.same(log, ['cancel d1 device_disconnected', 'disconnected d1', 'reconnect d1'])
  t.same(logger.records.filter((r) => r.level === 'error').map((r) => r.msg), [
    'cancelling device tasks failed', 'disconnection hook failed', 'reconnection callback failed'
  ])
  t.match(logger.records.find((r) => r.level === 'warn'), { obj: { deviceId: 'd1' }, msg: 'device disconnected, starting recovery' })
})

t.test('with policy NONE it cleans up but does not reconnect nor call onReconnect', async (t) => {
  const strategy = new ReconnectionStrategy({ policy: ReconnectionPolicy.NONE })
  const { endpoint, log } = endpointLog([true])
  t.equal(await strategy.handleDisconnection(endpoint, 'd1', () => { log.push('onReconnect') }), false)
  t.same(log, ['cancel d1 device_disconnected', 'disconnected d1'])
})

t.test('gives up after the retries without calling onReconnect', async (t) => {
  const clock = useClock(t)
  const strategy = new ReconnectionStrategy({ maxRetries: 2, jitter: false })
  const { endpoint, log } = endpointLog([])
  t.equal(await drive(clock, strategy.handleDisconnection(endpoint, 'd1', () => { log.push('onReconnect') })), false)
  t.notOk(log.includes('onReconnect'))
})

t.test('an abort rejects the whole recovery', async (t) => {
  const strategy = new ReconnectionStrategy()
  const { endpoint } = endpointLog([true])
  await t.rejects(strategy.handleDisconnection(endpoint, 'd1', undefined, { signal: AbortSignal.abort() }), {
    code: 'AIP_ERR_ABORTED'
  })
})
