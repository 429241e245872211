import t from 'tap'
import { InMemorySessionStore } from '../src/index.js'
import { Session } from '../src/session.js'

// The embedded session store keeps its sessions oldest first, whether one runs or many (the first one is kept
// apart from the others while it is alone).

const session = (id: string): Session => new Session({ id, taskName: id, request: 'r', requesterId: 'c', deviceId: 'd', startedAt: 0 })

t.test('one session at a time: added, found, listed, removed', async (t) => {
  const store = new InMemorySessionStore()
  for (const id of ['a', 'b', 'c']) {
    const s = session(id)
    store.add(s)
    t.equal(store.size, 1)
    t.equal(store.get(id), s)
    t.same(store.list().map((x) => x.id), [id])
    store.delete(id)
    t.equal(store.size, 0)
    t.equal(store.get(id), undefined)
    t.same(store.list(), [])
  }
  store.delete('never-added')
  t.equal(store.size, 0)
})

t.test('many sessions: oldest first through every add and delete, a list is a snapshot', async (t) => {
  const store = new InMemorySessionStore()
  const ids = (): string[] => store.list().map((x) => x.id)
  store.add(session('a'))
  store.add(session('b'))
  store.add(session('c'))
  t.same(ids(), ['a', 'b', 'c'])
  t.equal(store.size, 3)
  store.delete('a')
  t.same(ids(), ['b', 'c'])
  store.add(session('d'))
  t.same(ids(), ['b', 'c', 'd'], 'a session added while others run comes after them')
  store.delete('c')
  store.delete('b')
  t.same(ids(), ['d'])
  store.add(session('e'))
  t.same(ids(), ['d', 'e'])
  store.delete('d')
  store.delete('e')
  t.equal(store.size, 0)
  store.add(session('f'))
  store.add(session('g'))
  const snapshot = store.list()
  store.delete('f')
  t.same(snapshot.map((x) => x.id), ['f', 'g'], 'deleting does not change a list already taken')
  t.equal(store.get('g')?.id, 'g')
  t.equal(store.get('f'), undefined)
  t.equal(store.size, 1)
})

t.test('adding a session of an id already held replaces it in its place', async (t) => {
  const store = new InMemorySessionStore()
  store.add(session('a'))
  store.add(session('b'))
  const again = session('a')
  store.add(again)
  t.equal(store.get('a'), again)
  t.same(store.list().map((x) => x.id), ['a', 'b'])
  t.equal(store.size, 2)
})
