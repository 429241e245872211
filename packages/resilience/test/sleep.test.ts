import t from 'tap'
import { sleep } from '../src/index.js'
import { pendingTimers, tick, useClock } from './helpers.js'

t.test('sleep resolves after the time, on one timer that keeps the process alive', async (t) => {
  const clock = useClock(t)
  let done = false
  const slept = sleep(50).then(() => { done = true })
  const [timer] = pendingTimers(clock)
  t.equal(timer?.reffed, true)
  clock.advance(49)
  await tick()
  t.notOk(done)
  clock.advance(1)
  await slept
  t.ok(done)
})

t.test('a sleep with keepAlive false does not hold the process', async (t) => {
  const clock = useClock(t)
  const slept = sleep(50, { keepAlive: false })
  const [timer] = pendingTimers(clock)
  t.equal(timer?.reffed, false)
  clock.advance(50)
  await slept
})

t.test('aborting a sleep rejects with a coded error and clears its timer', async (t) => {
  const clock = useClock(t)
  const controller = new AbortController()
  const slept = sleep(50, { signal: controller.signal })
  controller.abort('why')
  await t.rejects(slept, { code: 'AIP_ERR_ABORTED', message: 'sleep was aborted', cause: 'why' })
  t.equal(pendingTimers(clock).length, 0)
  await t.rejects(sleep(50, { signal: AbortSignal.abort() }), { code: 'AIP_ERR_ABORTED' })
  t.equal(pendingTimers(clock).length, 0, 'an aborted signal sets no timer')
})

t.test('a finished sleep no longer listens to its signal', async (t) => {
  const clock = useClock(t)
  const controller = new AbortController()
  const slept = sleep(5, { signal: controller.signal })
  clock.advance(5)
  await slept
  controller.abort()
  await tick()
  t.pass('aborting afterwards is harmless')
})
