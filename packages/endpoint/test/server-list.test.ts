import { test } from 'tap'
import { ServerList } from '../src/index.js'

const urls = ['ws://a:1/ws?token=s1', 'ws://b:2/ws?token=s2', 'ws://c:3/ws?token=s3']

test('the first round tries every URL in the order given', async (t) => {
  const list = new ServerList(urls)
  t.same(list.round().map((e) => e.index), [0, 1, 2])
  t.equal(list.current.index, 0, 'before any attempt the current server is the first')
})

test('after a server is used (or lost), the next round starts with the one after it and tries it last', async (t) => {
  const list = new ServerList(urls)
  list.use(list.entries[1]!)
  t.same(list.round().map((e) => e.index), [2, 0, 1])
  list.use(list.entries[2]!)
  t.same(list.round().map((e) => e.index), [0, 1, 2], 'wraps around')
  t.equal(list.current.index, 2)
})

test('a round that failed everywhere is followed by the same round', async (t) => {
  const list = new ServerList(urls)
  list.use(list.entries[0]!)
  const round = list.round()
  for (const entry of round) list.use(entry)
  t.same(list.round().map((e) => e.index), round.map((e) => e.index))
})

test('one URL (a single server, or a load balancer): every round is that URL', async (t) => {
  const list = new ServerList(['ws://lb/ws'])
  t.same(list.round().map((e) => e.url), ['ws://lb/ws'])
  list.use(list.entries[0]!)
  t.same(list.round().map((e) => e.url), ['ws://lb/ws'])
})

test('entries carry the URL redacted for logs; an empty list is refused', async (t) => {
  const list = new ServerList(urls)
  t.equal(list.size, 3)
  t.equal(list.entries[0]!.redacted, 'ws://a:1/ws?token=[redacted]')
  t.notOk(list.entries.some((e) => e.redacted.includes('s1') || e.redacted.includes('s2')), 'no token in a redacted URL')
  t.throws(() => new ServerList([]), RangeError)
})
