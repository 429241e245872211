import t from 'tap'
import { AbortedError, InvalidArgumentError, InvalidOptionError, TimeoutError } from '../src/index.js'

t.test('a timeout carries its operation, its time and the details it was given', async (t) => {
  const cause = new Error('pending')
  const err = new TimeoutError('task', 50, { sessionId: 's1', cause, deviceId: 'd1' })
  t.ok(err instanceof TimeoutError)
  t.match(err, { code: 'AIP_ERR_TIMEOUT', statusCode: 408, name: 'TimeoutError', operation: 'task', timeoutMs: 50, sessionId: 's1', deviceId: 'd1' })
  t.equal(err.cause, cause)
  t.equal(new TimeoutError('x', 1).sessionId, undefined)
})

t.test('an abort carries the signal\'s reason as reason and cause; the older { cause } form still works', async (t) => {
  const reason = new Error('stop')
  const err = new AbortedError('sleep', reason)
  t.match(err, { code: 'AIP_ERR_ABORTED', name: 'AbortedError', operation: 'sleep' })
  t.equal(err.reason, reason)
  t.equal(err.cause, reason)
  const legacy = new AbortedError('sleep', { cause: 'why' })
  t.equal(legacy.reason, 'why')
  t.equal(legacy.cause, 'why')
  const plain = new AbortedError('sleep')
  t.equal(plain.reason, undefined)
  t.notOk('cause' in plain)
  t.same(new AbortedError('x', { cause: 1, other: 2 }).reason, { cause: 1, other: 2 }, 'only a lone cause key is unwrapped')
})

t.test('bad options and arguments name what, what was expected and what came', async (t) => {
  const cause = new Error('inner')
  t.match(new InvalidOptionError('a.b', 'a string', '1', { cause }), {
    code: 'AIP_ERR_INVALID_OPTION', name: 'InvalidOptionError', option: 'a.b', expected: 'a string', received: '1', cause
  })
  t.match(new InvalidArgumentError('key', 'a string', 'undefined', { cause }), {
    code: 'AIP_ERR_INVALID_ARGUMENT', name: 'InvalidArgumentError', argument: 'key', expected: 'a string', received: 'undefined', cause
  })
  t.equal(new InvalidArgumentError('key', 'a string').received, '')
})
