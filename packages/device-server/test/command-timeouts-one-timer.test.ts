import { createHook } from 'node:async_hooks'
import { fileURLToPath } from 'node:url'
import { test } from 'tap'
import { Clock } from '@tapjs/clock'
import type { Teardown } from '@aip/test-support'
import { DeviceServerEndpoint, type DeviceServerOptions } from '../src/index.js'
import { Texts } from '../src/internal.js'
import { CommandDeadlines } from '../src/command-deadlines.js'
import { Session } from '../src/session.js'
import { HeldTransport, nextEvent, results, stepsAgent, task } from './helpers/continuity.js'
import { constellationRegister, deviceRegister } from './helpers/harness.js'

function fakeClock (t: Teardown): Clock {
  const clock = new Clock()
  clock.enter()
  t.teardown(() => { clock.exit() })
  return clock
}

function setup (t: Teardown, options: DeviceServerOptions): { endpoint: DeviceServerEndpoint, connect: () => HeldTransport } {
  const endpoint = new DeviceServerEndpoint({ pingIntervalMs: 0, now: () => Date.now(), ...options })
  t.teardown(async () => { await endpoint.stop() })
  return {
    endpoint,
    connect: () => {
      const transport = new HeldTransport()
      endpoint.handleTransport(transport)
      t.teardown(() => transport.release())
      return transport
    }
  }
}

function session (id: string): Session {
  return new Session({ id, taskName: id, request: 'r', requesterId: 'g', deviceId: 'd', startedAt: 0 })
}

test('a COMMAND with the default timeout and no results fails its task at the timeout, not before, while answered ones never time out', async (t) => {
  const clock = fakeClock(t)
  const { endpoint, connect } = setup(t, { agent: stepsAgent(1), commandTimeoutMs: 10_000 })
  const device = connect()
  device.receive(deviceRegister('dev-t'))
  await device.next()
  const galaxy = connect()
  galaxy.receive(constellationRegister('g-t', 'dev-t'))
  await galaxy.next()
  // The first task is answered at once; its COMMAND's timeout must never fire.
  galaxy.receive(task('g-t', 'dev-t', 't@1'))
  await galaxy.next()
  const first = await device.next()
  const firstEnd = nextEvent(endpoint, 'taskEnd')
  device.receive(results('dev-t', first))
  t.match(await firstEnd, { sessionId: 't@1', status: 'completed' })
  t.match(await galaxy.next(), { type: 'task_end', session_id: 't@1', status: 'completed' })
  t.match(await device.next(), { type: 'task_end', session_id: 't@1' })
  clock.advance(5_000)
  galaxy.receive(task('g-t', 'dev-t', 't@2'))
  t.match(await galaxy.next(), { type: 'heartbeat', session_id: 't@2' })
  t.match(await device.next(), { type: 'command', session_id: 't@2' })
  clock.advance(9_999)
  t.equal(endpoint.sessionCount, 1, 'still waiting just before its timeout (the first COMMAND\'s is long past)')
  const ended = nextEvent(endpoint, 'taskEnd')
  clock.advance(1)
  t.match(await ended, { sessionId: 't@2', status: 'failed', error: Texts.commandTimedOut(10_000) })
  t.match(await galaxy.next(), { type: 'task_end', session_id: 't@2', status: 'failed' })
})

test('one timer serves the default COMMAND timeouts of a run of tasks; none is left once the server has stopped', async (t) => {
  const src = fileURLToPath(new URL('../src/', import.meta.url))
  const created: string[] = []
  const live = new Set<number>()
  const hook = createHook({
    init (asyncId, type) {
      if (type !== 'Timeout') return
      const stack = new Error('timer').stack ?? ''
      if (!stack.includes(src)) return
      created.push(stack.includes('command-deadlines') ? 'shared' : 'other')
      live.add(asyncId)
    },
    destroy (asyncId) { live.delete(asyncId) }
  })
  hook.enable()
  t.teardown(() => { hook.disable() })
  const endpoint = new DeviceServerEndpoint({ pingIntervalMs: 0, agent: stepsAgent(2) })
  const device = new HeldTransport()
  endpoint.handleTransport(device)
  device.receive(deviceRegister('dev-one'))
  await device.next()
  const galaxy = new HeldTransport()
  endpoint.handleTransport(galaxy)
  galaxy.receive(constellationRegister('g-one', 'dev-one'))
  await galaxy.next()
  const before = created.length
  for (let i = 0; i < 20; i++) {
    galaxy.receive(task('g-one', 'dev-one', `one@${i}`))
    await galaxy.next()
    for (let step = 0; step < 2; step++) device.receive(results('dev-one', await device.next()))
    t.match(await galaxy.next(), { type: 'task_end', session_id: `one@${i}`, status: 'completed' })
    await device.next()
  }
  t.same(created.slice(before), ['shared'], '40 COMMANDs, one timer armed')
  // A held transport closes when released: the stop completes then.
  const stopped = endpoint.stop()
  device.release()
  galaxy.release()
  await stopped
  for (let turn = 0; turn < 20 && live.size > 0; turn++) await new Promise((resolve) => setImmediate(resolve))
  t.equal(live.size, 0, 'no timer of the package is left')
})

test('CommandDeadlines: entries expire in order at their own time; released ones never; tickets hold across compaction', async (t) => {
  const clock = fakeClock(t)
  const expired: string[] = []
  const deadlines = new CommandDeadlines(1_000, (s, responseId, timeoutMs) => { expired.push(`${s.id}:${responseId}:${timeoutMs}`) })
  t.equal(deadlines.delayMs, 1_000)
  // More than the compaction threshold, released in order: the queue is emptied and reused, the timer stays.
  const tickets = Array.from({ length: 3000 }, (_, i) => deadlines.add(session(`s${i}`), `r${i}`))
  t.equal(deadlines.size, 3000)
  t.ok(deadlines.armed)
  for (const ticket of tickets) deadlines.release(ticket)
  t.equal(deadlines.size, 0, 'released in order: nothing left')
  t.ok(deadlines.armed, 'the timer is left armed')
  clock.advance(400)
  // Released out of order: the head waits until the oldest goes; a middle one is skipped at expiry.
  const a = deadlines.add(session('a'), 'ra')
  const b = deadlines.add(session('b'), 'rb')
  const c = deadlines.add(session('c'), 'rc')
  deadlines.release(b)
  t.equal(deadlines.size, 3, 'a released entry behind a waiting one still counts')
  clock.advance(600)
  t.same(expired, [], 'the timer armed for the first (released) entries found nothing due')
  t.ok(deadlines.armed, 're-armed for the oldest waiting entry')
  clock.advance(399)
  t.same(expired, [])
  clock.advance(1)
  t.same(expired, ['a:ra:1000', 'c:rc:1000'], 'both due, the released one skipped')
  t.notOk(deadlines.armed, 'nothing waits: no timer')
  deadlines.release(a)
  deadlines.release(c)
  deadlines.release(-5)
  t.equal(deadlines.size, 0)
  // Many released out of order across a compaction: the tickets handed out before it still release theirs.
  const many = Array.from({ length: 2100 }, (_, i) => deadlines.add(session(`m${i}`), `rm${i}`))
  for (const ticket of many.slice(0, 2000)) deadlines.release(ticket)
  t.equal(deadlines.size, 100, 'compacted once most of the queue was served')
  for (const ticket of many.slice(2000, 2099)) deadlines.release(ticket)
  t.equal(deadlines.size, 1)
  deadlines.clear()
  t.notOk(deadlines.armed, 'clear() stops the timer')
  t.equal(deadlines.size, 0)
  deadlines.release(many[2099] as number)
  clock.advance(5_000)
  t.same(expired, ['a:ra:1000', 'c:rc:1000'], 'nothing expires after clear()')
})
