import t from 'tap'
import { createLinkedTransports } from '../src/memory-transport.js'

t.test('frames arrive in order, asynchronously, text as strings and bytes as Buffers', async (t) => {
  const [a, b] = createLinkedTransports()
  const got: Array<string | Buffer> = []
  const done = new Promise<void>((resolve) => b.on('message', (f) => { if (got.push(f) === 3) resolve() }))
  const sent = [a.send('one'), a.send(new Uint8Array([1, 2])), a.send('three')]
  t.equal(got.length, 0, 'nothing is delivered synchronously')
  await Promise.all(sent)
  await done
  t.same(got, ['one', Buffer.from([1, 2]), 'three'])
  t.ok(Buffer.isBuffer(got[1]))
  t.equal(a.bufferedAmount, 0)
  a.close()
})

t.test('closing one side closes both, once, and tells who closed', async (t) => {
  const [a, b] = createLinkedTransports()
  const closes: Array<[string, unknown]> = []
  const both = new Promise<void>((resolve) => {
    a.on('close', (info) => { closes.push(['a', info]) })
    b.on('close', (info) => { closes.push(['b', info]); resolve() })
  })
  a.close(4004, 'replaced')
  a.close()
  b.terminate()
  await both
  t.same(closes, [['a', { code: 4004, reason: 'replaced', local: true }], ['b', { code: 4004, reason: 'replaced', local: false }]])
  t.equal(a.isOpen, false)
  t.equal(b.isOpen, false)
  await t.rejects(a.send('x'), { code: 'AIP_ERR_ENDPOINT_TRANSPORT_CLOSED' })
})

t.test('terminate closes both sides with 1006', async (t) => {
  const [a, b] = createLinkedTransports()
  const closed = new Promise((resolve) => b.on('close', resolve))
  a.terminate()
  t.same(await closed, { code: 1006, reason: '', local: false })
})

t.test('ping is answered by a pong while open, and is a no-op once closed', async (t) => {
  const [a] = createLinkedTransports()
  const pong = new Promise((resolve) => a.on('pong', resolve))
  a.ping()
  await pong
  a.close()
  a.ping()
})

t.test('frames sent to a side that closed meanwhile are dropped', async (t) => {
  const [a, b] = createLinkedTransports()
  let got = 0
  b.on('message', () => { got++ })
  const closed = new Promise((resolve) => a.on('close', resolve))
  const sent = a.send('x')
  b.close()
  await sent
  await closed
  t.equal(got, 0)
})
