import t from 'tap'
import { HeartbeatManager } from '../src/index.js'
import { pendingTimers, tick, useClock } from './helpers.js'

function recordingSend () {
  const sent: Array<{ clientId: string, at: number }> = []
  const send = (clientId: string): void => { sent.push({ clientId, at: performance.now() }) }
  return { sent, send }
}

t.test('start() runs the heartbeat with its interval; stop() ends it', async (t) => {
  const clock = useClock(t)
  const start = clock.now()
  const { sent, send } = recordingSend()
  const manager = new HeartbeatManager({ send, intervalMs: 100 })
  manager.start('test_client', { intervalMs: 100 })
  t.ok(manager.isRunning('test_client'))
  t.equal(manager.getIntervalMs('test_client'), 100)
  t.equal(manager.activeCount, 1)
  clock.advance(99)
  t.same(sent, [], 'nothing before one interval')
  clock.advance(1)
  clock.advance(50)
  t.same(sent.map((s) => s.at - start), [100], 'first heartbeat after one interval')
  t.equal(manager.stop('test_client'), true)
  t.notOk(manager.isRunning('test_client'))
  t.equal(manager.getIntervalMs('test_client'), undefined)
  t.equal(pendingTimers(clock).length, 0, 'no timer left')
})

t.test('sends at every interval, re-arming one unref()ed timer per client', async (t) => {
  const clock = useClock(t)
  const { sent, send } = recordingSend()
  const manager = new HeartbeatManager({ send, intervalMs: 1000, maxMissedAcks: 100 })
  manager.start('a')
  manager.start('b', { intervalMs: 400 })
  for (let i = 0; i < 20; i++) {
    clock.advance(100)
    const timers = pendingTimers(clock)
    t.equal(timers.length, 2, 'one timer per client')
    t.ok(timers.every((timer) => !timer.reffed), 'all unref()ed')
  }
  t.equal(sent.filter((s) => s.clientId === 'a').length, 2)
  t.equal(sent.filter((s) => s.clientId === 'b').length, 5)
  manager.stopAll()
  t.equal(manager.activeCount, 0)
  t.equal(pendingTimers(clock).length, 0)
})

t.test('stopping a client that is not running is harmless', async (t) => {
  const manager = new HeartbeatManager({ send: () => {} })
  t.equal(manager.stop('nonexistent_client'), false)
  t.equal(manager.getMissedAcks('nonexistent_client'), 0)
  t.equal(manager.getLastRttMs('nonexistent_client'), undefined)
  t.equal(manager.recordAck('nonexistent_client'), undefined)
})

t.test('stopAll() stops every client and leaves no timer', async (t) => {
  const clock = useClock(t)
  const manager = new HeartbeatManager({ send: () => {}, intervalMs: 100 })
  manager.start('client1', { intervalMs: 100 })
  manager.start('client2', { intervalMs: 100 })
  t.ok(manager.isRunning('client1'))
  t.ok(manager.isRunning('client2'))
  manager.stopAll()
  t.notOk(manager.isRunning('client1'))
  t.notOk(manager.isRunning('client2'))
  t.equal(pendingTimers(clock).length, 0)
})

t.test('starting a running client restarts it with one timer', async (t) => {
  const clock = useClock(t)
  const { sent, send } = recordingSend()
  const manager = new HeartbeatManager({ send, intervalMs: 1000 })
  manager.start('a')
  clock.advance(900)
  manager.start('a', { intervalMs: 500 })
  t.equal(pendingTimers(clock).length, 1)
  t.equal(manager.getIntervalMs('a'), 500)
  clock.advance(400)
  t.equal(sent.length, 0, 'the old schedule is gone')
  clock.advance(100)
  t.equal(sent.length, 1)
  manager.dispose()
})

t.test('an interval of 0 is rejected with a coded error, not replaced by the default', async (t) => {
  const clock = useClock(t)
  const manager = new HeartbeatManager({ send: () => {} })
  for (const intervalMs of [0, -5, NaN, 2 ** 31]) {
    t.throws(() => manager.start('a', { intervalMs }), { code: 'AIP_ERR_INVALID_OPTION', option: 'intervalMs' }, `intervalMs ${intervalMs}`)
  }
  t.notOk(manager.isRunning('a'))
  t.equal(pendingTimers(clock).length, 0)
})

t.test('stop() aborts the signal handed to a send in flight', async (t) => {
  const clock = useClock(t)
  const signals: AbortSignal[] = []
  const manager = new HeartbeatManager({ send: (_id, { signal }) => { signals.push(signal) }, intervalMs: 10 })
  manager.start('a')
  clock.advance(10)
  t.equal(signals[0]?.aborted, false)
  manager.stop('a')
  t.equal(signals[0]?.aborted, true)
})

t.test('dispose() stops everything and removes listeners', async (t) => {
  const clock = useClock(t)
  const manager = new HeartbeatManager({ send: () => {}, intervalMs: 10 })
  let sent = 0
  manager.on('sent', () => { sent++ })
  manager.start('a')
  manager.start('b')
  manager.dispose()
  t.equal(manager.activeCount, 0)
  t.equal(pendingTimers(clock).length, 0)
  manager.start('a')
  clock.advance(10)
  await tick()
  t.equal(sent, 0, 'no listener left')
  manager.dispose()
})
