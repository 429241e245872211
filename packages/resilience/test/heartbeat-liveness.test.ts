import t from 'tap'
import { HeartbeatManager } from '../src/index.js'
import type { HeartbeatEvents } from '../src/index.js'
import { pendingTimers, recordingLogger, tick, useClock } from './helpers.js'

function record<K extends keyof HeartbeatEvents> (manager: HeartbeatManager, event: K): Array<HeartbeatEvents[K]> {
  const seen: Array<HeartbeatEvents[K]> = []
  manager.on(event, (payload) => { seen.push(payload) })
  return seen
}

t.test('a peer is declared dead after maxMissedAcks unacknowledged heartbeats', async (t) => {
  const clock = useClock(t)
  const logger = recordingLogger()
  let sends = 0
  const manager = new HeartbeatManager({ send: () => { sends++ }, intervalMs: 1000, maxMissedAcks: 3, logger })
  const missed = record(manager, 'missed')
  const dead = record(manager, 'dead')
  manager.start('d1')
  clock.advance(1000) // heartbeat 1
  t.equal(sends, 1)
  clock.advance(1000) // miss 1, heartbeat 2
  clock.advance(1000) // miss 2, heartbeat 3
  t.equal(manager.getMissedAcks('d1'), 2)
  t.same(dead, [])
  clock.advance(1000) // miss 3: dead
  t.same(missed.map((m) => m.missedAcks), [1, 2, 3])
  t.same(dead, [{ clientId: 'd1', missedAcks: 3, lastRttMs: undefined }])
  t.equal(sends, 3, 'no heartbeat after death')
  t.notOk(manager.isRunning('d1'), 'the dead peer is stopped')
  t.equal(pendingTimers(clock).length, 0)
  t.match(logger.records.find((r) => r.level === 'error'), { obj: { clientId: 'd1', missedAcks: 3 }, msg: 'peer declared dead' })
})

t.test('the RTT is measured from the last send to its ack, on the fake clock', async (t) => {
  const clock = useClock(t)
  const manager = new HeartbeatManager({ send: () => {}, intervalMs: 1000 })
  const acks = record(manager, 'ack')
  manager.start('d1')
  t.equal(manager.recordAck('d1'), undefined, 'nothing sent yet')
  clock.advance(1000)
  clock.advance(37)
  t.equal(manager.recordAck('d1'), 37)
  t.equal(manager.recordAck('d1'), undefined, 'a duplicate ack is ignored')
  t.equal(manager.getLastRttMs('d1'), 37)
  clock.advance(963) // heartbeat 2 (the fake clock fires timers at the time it advanced to)
  clock.advance(120)
  t.equal(manager.recordAck('d1'), 120)
  t.same(acks, [{ clientId: 'd1', rttMs: 37 }, { clientId: 'd1', rttMs: 120 }])
  manager.stop('d1')
})

t.test('an injected clock is used for RTTs', async (t) => {
  const clock = useClock(t)
  let now = 5000
  const manager = new HeartbeatManager({ send: () => {}, intervalMs: 10, now: () => now })
  manager.start('d1')
  clock.advance(10)
  now += 2.5
  t.equal(manager.recordAck('d1'), 2.5)
  manager.stop('d1')
})

t.test('an ack resets the miss count, and the dead event carries the last RTT', async (t) => {
  const clock = useClock(t)
  const manager = new HeartbeatManager({ send: () => {}, intervalMs: 100, maxMissedAcks: 2 })
  const dead = record(manager, 'dead')
  manager.start('d1')
  clock.advance(100) // send
  clock.advance(100) // miss 1, send
  t.equal(manager.getMissedAcks('d1'), 1)
  clock.advance(40)
  t.equal(manager.recordAck('d1'), 40)
  t.equal(manager.getMissedAcks('d1'), 0)
  clock.advance(60) // acked: no miss, send
  clock.advance(100) // miss 1, send
  t.same(dead, [])
  clock.advance(100) // miss 2: dead
  t.same(dead, [{ clientId: 'd1', missedAcks: 2, lastRttMs: 40 }])
})

t.test('a failing send is reported and counts as a missed ack', async (t) => {
  const clock = useClock(t)
  const logger = recordingLogger()
  let calls = 0
  const boom = new Error('socket closed')
  const manager = new HeartbeatManager({
    send: async () => { calls++; if (calls === 1) throw boom },
    intervalMs: 100,
    maxMissedAcks: 2,
    logger
  })
  const errors = record(manager, 'sendError')
  const dead = record(manager, 'dead')
  manager.start('d1')
  clock.advance(100)
  await tick()
  t.same(errors, [{ clientId: 'd1', error: boom }])
  t.match(logger.records.find((r) => r.level === 'warn'), { obj: { clientId: 'd1', err: boom }, msg: 'sending heartbeat failed' })
  clock.advance(100)
  clock.advance(100)
  t.equal(dead.length, 1)

  const sync = new HeartbeatManager({ send: () => { throw boom }, intervalMs: 100 })
  const syncErrors = record(sync, 'sendError')
  sync.start('d2')
  clock.advance(100)
  t.same(syncErrors, [{ clientId: 'd2', error: boom }], 'a synchronous throw too')
  sync.dispose()
})

t.test('a missed listener may stop or restart the client without a dead event', async (t) => {
  const clock = useClock(t)
  const manager = new HeartbeatManager({ send: () => {}, intervalMs: 100, maxMissedAcks: 1 })
  const dead = record(manager, 'dead')
  manager.on('missed', ({ clientId }) => { manager.start(clientId, { intervalMs: 50 }) })
  manager.start('d1')
  clock.advance(100)
  clock.advance(100)
  t.same(dead, [])
  t.equal(manager.getIntervalMs('d1'), 50)
  t.equal(pendingTimers(clock).length, 1)
  manager.stopAll()
  t.equal(pendingTimers(clock).length, 0)
})

t.test('a listener can restart a dead peer from the dead event', async (t) => {
  const clock = useClock(t)
  const manager = new HeartbeatManager({ send: () => {}, intervalMs: 100, maxMissedAcks: 1 })
  manager.on('dead', ({ clientId }) => { manager.start(clientId) })
  manager.start('d1')
  clock.advance(200)
  t.ok(manager.isRunning('d1'))
  t.equal(manager.getMissedAcks('d1'), 0)
  t.equal(pendingTimers(clock).length, 1)
  manager.dispose()
  t.equal(pendingTimers(clock).length, 0)
})
