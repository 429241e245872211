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
