import { runInNewContext } from 'node:vm'
import { setFlagsFromString } from 'node:v8'
import { test } from 'tap'
import { InMemoryResultStore, type TaskRecord } from '../src/index.js'

// A record the store evicts (beyond `maxRecords` here) is no longer reachable from the store: it is released at
// once, not kept alive by the store's insertion queue until that queue is next compacted.

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

function record (sessionId: string): TaskRecord {
  return { sessionId, taskName: sessionId, requesterId: 'r', deviceId: 'd', request: 'x', status: 'completed', error: null, result: [{ request: 'x', result: [] }], startedAt: 1, endedAt: 2, sizeBytes: 10 }
}

/** Puts `count` records, the first of them watched through a WeakRef (made here, so no strong reference is left). */
function fill (store: InMemoryResultStore, count: number): WeakRef<TaskRecord> {
  const first = record('s0')
  store.put(first)
  for (let i = 1; i < count; i++) store.put(record(`s${i}`))
  return new WeakRef(first)
}

test('an evicted record is released at once', async (t) => {
  const store = new InMemoryResultStore({ maxRecords: 2, ttlMs: 60_000, now: () => 2 })
  const first = fill(store, 5)
  t.equal(store.size, 2)
  t.equal(store.getBySession('s0'), undefined, 'evicted')
  // A WeakRef keeps its target for the rest of the job that made it: collect in a later one.
  await new Promise((resolve) => setImmediate(resolve))
  gc()
  t.equal(first.deref(), undefined, 'nothing in the store holds the evicted record')
  t.equal(store.getBySession('s4')?.sessionId, 's4', 'the newest records are kept')
  t.equal(store.getByTaskName('s3')?.sessionId, 's3')
})
