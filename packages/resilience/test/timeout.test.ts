import t from 'tap'
import { AbortedError, sleep, TimeoutError, TimeoutManager } from '../src/index.js'
import { pendingTimers, recordingLogger, tick, useClock } from './helpers.js'

/** Work that takes `ms` on the clock and stops when told to. */
const takes = (ms: number) => async (signal: AbortSignal): Promise<string> => {
  await sleep(ms, { signal, keepAlive: false })
  return 'success'
}

t.test('resolves with the result of work that finishes in time', async (t) => {
  const clock = useClock(t)
  const manager = new TimeoutManager({ defaultTimeoutMs: 1000 })
  const result = manager.withTimeout(takes(100), undefined, 'test')
  clock.advance(100)
  t.equal(await result, 'success')
  t.equal(await manager.withTimeout(Promise.resolve(42)), 42, 'a plain promise works too')
  t.equal(await manager.withTimeout(() => 'sync'), 'sync', 'so does a synchronous function')
  t.equal(manager.pendingCount, 0)
  t.equal(pendingTimers(clock).length, 0)
})

t.test('rejects with a coded TimeoutError naming the operation and the time', async (t) => {
  const clock = useClock(t)
  const logger = recordingLogger()
  const manager = new TimeoutManager({ defaultTimeoutMs: 100, logger })
  let told: unknown
  const result = manager.withTimeout(async (signal) => {
    signal.addEventListener('abort', () => { told = signal.reason })
    return await takes(1000)(signal)
  }, undefined, 'register device')
  clock.advance(100)
  const err = await t.rejects(result, {
    code: 'AIP_ERR_TIMEOUT',
    statusCode: 408,
    message: 'register device timed out after 100 ms',
    operation: 'register device',
    timeoutMs: 100
  })
  t.ok(err instanceof TimeoutError)
  t.ok(err instanceof Error)
  t.equal(told, err, 'the work was told to stop, with the timeout as the reason')
  t.equal(pendingTimers(clock).length, 0, 'the work\'s own timer was cleared too')
  t.match(logger.records.find((r) => r.level === 'warn'), { obj: { operation: 'register device', timeoutMs: 100 }, msg: 'operation timed out' })
})

t.test('withTimeoutOrUndefined resolves undefined on timeout', async (t) => {
  const clock = useClock(t)
  const manager = new TimeoutManager({ defaultTimeoutMs: 100 })
  const result = manager.withTimeoutOrUndefined(takes(1000), undefined, 'test')
  clock.advance(100)
  t.equal(await result, undefined)
  const fine = manager.withTimeoutOrUndefined(takes(10))
  clock.advance(10)
  t.equal(await fine, 'success')
  await t.rejects(manager.withTimeoutOrUndefined(Promise.reject(new Error('boom'))), { message: 'boom' }, 'other errors still reject')
})

t.test('a per-call timeout overrides the default', async (t) => {
  const clock = useClock(t)
  const manager = new TimeoutManager({ defaultTimeoutMs: 100 })
  const tooSlow = manager.withTimeout(takes(200), undefined, 'test')
  clock.advance(100)
  t.ok(await tooSlow.catch((err: unknown) => err instanceof TimeoutError), 'TimeoutError with the default')
  const inTime = manager.withTimeout(takes(200), 500, 'test')
  clock.advance(200)
  t.equal(await inTime, 'success')
})

t.test('the work\'s own errors pass through unchanged', async (t) => {
  const manager = new TimeoutManager()
  const boom = new Error('boom')
  await t.rejects(manager.withTimeout(Promise.reject(boom)), boom)
  await t.rejects(manager.withTimeout(() => { throw boom }), boom, 'a synchronous throw too')
  t.equal(manager.pendingCount, 0)
})

t.test('the caller\'s signal aborts the work and rejects with a coded error', async (t) => {
  const clock = useClock(t)
  const manager = new TimeoutManager()
  const controller = new AbortController()
  let workSignal: AbortSignal | undefined
  const result = manager.withTimeout(async (signal) => {
    workSignal = signal
    return await takes(10_000)(signal)
  }, 5000, 'fetch', { signal: controller.signal })
  t.equal(manager.pendingCount, 1)
  controller.abort('bye')
  const err = await t.rejects(result, { code: 'AIP_ERR_ABORTED', message: 'fetch was aborted', cause: 'bye' })
  t.ok(err instanceof AbortedError)
  t.equal(workSignal?.aborted, true)
  t.equal(manager.pendingCount, 0)
  t.equal(pendingTimers(clock).length, 0)

  let called = false
  await t.rejects(manager.withTimeout(() => { called = true }, 10, 'x', { signal: AbortSignal.abort() }), { code: 'AIP_ERR_ABORTED' })
  t.notOk(called, 'an aborted signal stops the work before it starts')
})

t.test('late results and errors after a timeout are ignored', async (t) => {
  const clock = useClock(t)
  const manager = new TimeoutManager({ defaultTimeoutMs: 10 })
  let resolveLate!: (v: string) => void
  let rejectLate!: (e: Error) => void
  const lateOk = manager.withTimeout(new Promise<string>((resolve) => { resolveLate = resolve }))
  const lateErr = manager.withTimeout(new Promise<string>((_resolve, reject) => { rejectLate = reject }))
  clock.advance(10)
  resolveLate('late')
  rejectLate(new Error('late'))
  await t.rejects(lateOk, { code: 'AIP_ERR_TIMEOUT' })
  await t.rejects(lateErr, { code: 'AIP_ERR_TIMEOUT' })
})

t.test('a bad per-call timeout rejects with a coded error', async (t) => {
  const manager = new TimeoutManager()
  for (const ms of [0, -1, NaN, Infinity]) {
    await t.rejects(manager.withTimeout(Promise.resolve(1), ms), { code: 'AIP_ERR_INVALID_ARGUMENT', argument: 'timeoutMs' }, `timeoutMs ${ms}`)
  }
})

t.test('dispose() aborts every pending operation and leaves no timer', async (t) => {
  const clock = useClock(t)
  const manager = new TimeoutManager()
  const runs = [manager.withTimeout(takes(1000), undefined, 'a'), manager.withTimeout(takes(1000), undefined, 'b')]
  t.equal(manager.pendingCount, 2)
  t.ok(pendingTimers(clock).every((timer) => !timer.reffed), 'deadline timers are unref()ed')
  manager.dispose()
  for (const run of runs) await t.rejects(run, { code: 'AIP_ERR_ABORTED' })
  await tick()
  t.equal(manager.pendingCount, 0)
  t.equal(pendingTimers(clock).length, 0)
})

t.test('TimeoutError can be built directly', async (t) => {
  const err = new TimeoutError('op', 5)
  t.match(err, { code: 'AIP_ERR_TIMEOUT', operation: 'op', timeoutMs: 5, message: 'op timed out after 5 ms' })
  t.notOk(new Error('x') instanceof TimeoutError)
})
