import { EventEmitter } from 'node:events'
import { test } from 'tap'
import { SERVER_MESSAGE_FIELDS, nextEvent, serverFrame, waitFor } from '../src/index.js'

interface Events { tick: number }

function source (): { emit: (n: number) => void, on: <K extends keyof Events>(event: K, fn: (payload: Events[K]) => void) => () => void } {
  const emitter = new EventEmitter()
  return {
    emit: (n) => emitter.emit('tick', n),
    on: (event, fn) => { emitter.on(event, fn); return () => { emitter.off(event, fn) } }
  }
}

test('nextEvent resolves with the first matching payload and removes its listener', async (t) => {
  const s = source()
  const next = nextEvent<number>(s, 'tick', (n) => n > 1)
  s.emit(1)
  s.emit(2)
  t.equal(await next, 2)
  await t.rejects(nextEvent(s, 'tick', () => true, 1), /no tick event within 1 ms/)
})

test('waitFor resolves once the predicate holds and rejects, naming it, when it never does', async (t) => {
  let ready = false
  setTimeout(() => { ready = true }, 10)
  await waitFor(() => ready)
  t.ok(ready)
  await t.rejects(waitFor(() => false, 1, 'never'), /timed out waiting for never/)
})

test('serverFrame writes the 14 reference fields in order, with a reference timestamp, then the extensions', async (t) => {
  const frame = serverFrame({ type: 'heartbeat', status: 'ok', traceparent: 'x' })
  t.same(Object.keys(frame), [...SERVER_MESSAGE_FIELDS, 'traceparent'])
  t.match(frame.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/)
  t.type(frame.response_id, 'string')
  t.equal(frame.error, null)
  t.equal(serverFrame({ response_id: 'r1' }).response_id, 'r1', 'a given response_id is kept')
})
