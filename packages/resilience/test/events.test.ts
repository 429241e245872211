import t from 'tap'
import { TypedEmitter } from '../src/index.js'

interface Events { ping: { n: number }, pong: string }

t.test('on() returns an unsubscribe function', async (t) => {
  const emitter = new TypedEmitter<Events>(() => {})
  const seen: number[] = []
  const off = emitter.on('ping', ({ n }) => { seen.push(n) })
  emitter.emit('ping', { n: 1 })
  t.equal(emitter.listenerCount('ping'), 1)
  off()
  off()
  emitter.emit('ping', { n: 2 })
  t.same(seen, [1])
  t.equal(emitter.listenerCount('ping'), 0)
  emitter.emit('pong', 'nobody listens')
})

t.test('a throwing listener is reported and the others still run', async (t) => {
  const errors: Array<[unknown, string]> = []
  const emitter = new TypedEmitter<Events>((err, event) => { errors.push([err, event]) })
  const seen: string[] = []
  const boom = new Error('boom')
  emitter.on('pong', () => { throw boom })
  emitter.on('pong', (s) => { seen.push(s) })
  emitter.emit('pong', 'hi')
  t.same(seen, ['hi'])
  t.same(errors, [[boom, 'pong']])
})

t.test('a listener may unsubscribe another during emit; clear() removes everything', async (t) => {
  const emitter = new TypedEmitter<Events>(() => {})
  const seen: string[] = []
  const offB = emitter.on('pong', () => { seen.push('b') })
  emitter.on('pong', () => { seen.push('c') })
  emitter.on('ping', () => { offB() })
  emitter.emit('ping', { n: 0 })
  emitter.emit('pong', 'x')
  t.same(seen, ['c'])
  emitter.clear()
  emitter.emit('pong', 'y')
  t.same(seen, ['c'])
  offB()
})

t.test('an emit calls the listeners present when it started', async (t) => {
  const emitter = new TypedEmitter<Events>(() => {})
  const seen: string[] = []
  let offB: () => void = () => {}
  emitter.on('pong', (s) => {
    seen.push(`a:${s}`)
    offB()
    emitter.on('pong', (s2) => { seen.push(`late:${s2}`) })
  })
  offB = emitter.on('pong', (s) => { seen.push(`b:${s}`) })
  emitter.emit('pong', '1')
  t.same(seen, ['a:1', 'b:1'], 'the listener removed during the emit is still called, the one added is not')
  seen.length = 0
  emitter.emit('pong', '2')
  t.same(seen.slice(0, 2), ['a:2', 'late:2'], 'the next emit sees the change')
  t.equal(seen.includes('b:2'), false)
})

t.test('a listener added twice is called once and removed by either unsubscribe', async (t) => {
  const emitter = new TypedEmitter<Events>(() => {})
  let calls = 0
  const listener = (): void => { calls++ }
  const first = emitter.on('ping', listener)
  const second = emitter.on('ping', listener)
  emitter.emit('ping', { n: 1 })
  t.equal(calls, 1)
  t.equal(emitter.listenerCount('ping'), 1)
  second()
  t.equal(emitter.listenerCount('ping'), 0)
  first()
  emitter.emit('ping', { n: 2 })
  t.equal(calls, 1)
})
