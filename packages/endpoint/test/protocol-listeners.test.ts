import t from 'tap'
import { Listeners } from '../src/protocol/listeners.js'

interface Events { ping: number, pong: string }

function make (): { listeners: Listeners<Events, string>, errors: string[] } {
  const errors: string[] = []
  const listeners = new Listeners<Events, string>('owner', (owner, err, event) => {
    errors.push(`${owner} ${String(event)} ${(err as Error).message}`)
  })
  return { listeners, errors }
}

t.test('listeners run in the order added, a listener added twice runs once, and count follows', async (t) => {
  const { listeners } = make()
  const seen: string[] = []
  const a = (n: number): void => { seen.push(`a${n}`) }
  const b = (n: number): void => { seen.push(`b${n}`) }
  t.equal(listeners.count('ping'), 0)
  listeners.on('ping', a)
  listeners.on('ping', a)
  t.equal(listeners.count('ping'), 1)
  listeners.emit('ping', 1)
  listeners.on('ping', b)
  listeners.on('ping', b)
  t.equal(listeners.count('ping'), 2)
  listeners.emit('ping', 2)
  listeners.emit('pong', 'nobody listens')
  t.same(seen, ['a1', 'a2', 'b2'])
})

t.test('removing goes back from several listeners to one and to none; removing twice is harmless', async (t) => {
  const { listeners } = make()
  const seen: string[] = []
  const offA = listeners.on('ping', (n) => { seen.push(`a${n}`) })
  const offB = listeners.on('ping', (n) => { seen.push(`b${n}`) })
  const offC = listeners.on('ping', (n) => { seen.push(`c${n}`) })
  offB()
  offB()
  listeners.emit('ping', 1)
  offA()
  t.equal(listeners.count('ping'), 1)
  listeners.emit('ping', 2)
  offC()
  offA()
  t.equal(listeners.count('ping'), 0)
  listeners.emit('ping', 3)
  t.same(seen, ['a1', 'c1', 'c2'])
})

t.test('an emit calls the listeners present when it started, even when one removes another or adds one', async (t) => {
  const { listeners } = make()
  const seen: string[] = []
  let offSecond = (): void => {}
  listeners.on('ping', (n) => {
    seen.push(`first${n}`)
    offSecond()
    listeners.on('ping', (m) => { seen.push(`late${m}`) })
  })
  offSecond = listeners.on('ping', (n) => { seen.push(`second${n}`) })
  listeners.emit('ping', 1)
  t.same(seen, ['first1', 'second1'])
})

t.test('a listener that throws is reported with its owner and event, and the next listener still runs', async (t) => {
  const { listeners, errors } = make()
  const seen: number[] = []
  listeners.on('ping', () => { throw new Error('boom') })
  listeners.on('ping', (n) => { seen.push(n) })
  listeners.emit('ping', 7)
  const only = make()
  only.listeners.on('pong', () => { throw new Error('alone') })
  only.listeners.emit('pong', 'x')
  t.same(seen, [7])
  t.same(errors, ['owner ping boom'])
  t.same(only.errors, ['owner pong alone'])
  only.listeners.clear()
  t.equal(only.listeners.count('pong'), 0)
})
