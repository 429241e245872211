import { test } from 'tap'
import { InMemoryResultStore, type TaskRecord } from '../src/index.js'

// A read that finds no record (every new TASK asks) evicts nothing; size, writes and reads that find a record do,
// so an expired record is never returned nor counted.

function record (sessionId: string, endedAt: number): TaskRecord {
  return { sessionId, taskName: sessionId, requesterId: 'r', deviceId: 'd', request: 'x', status: 'completed', error: null, result: null, startedAt: endedAt - 1, endedAt, sizeBytes: 10 }
}

test('an expired record is neither returned nor counted, whatever read comes first', async (t) => {
  let now = 1_000
  const store = new InMemoryResultStore({ maxRecords: 10, ttlMs: 100, now: () => now })
  store.put(record('a', 1_000))
  store.put(record('b', 1_050))
  now = 1_120
  t.equal(store.getBySession('unknown'), undefined, 'a miss')
  t.equal(store.size, 1, 'size drops the expired record')
  t.equal(store.bytes, 10)
  t.equal(store.getBySession('a'), undefined)
  now = 1_200
  t.equal(store.getBySession('b'), undefined, 'a read of an expired record finds nothing')
  t.equal(store.size, 0)
})
