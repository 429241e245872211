import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'tap'
import {
  corpus, frameObject, key, line, REFERENCE_CLIENT_FIELDS, REFERENCE_SERVER_FIELDS, sameAsReference, stripVolatile,
  transcript, wireDir, wireText
} from '../src/index.js'

test('the corpus holds every frame connections.json announces, each once', async (t) => {
  const files = JSON.parse(readFileSync(join(wireDir, 'connections.json'), 'utf8')) as Array<{ file: string, frames: number }>
  for (const { file, frames } of files) t.equal(transcript(file).length, frames, file)
  t.equal(new Set(corpus.map(key)).size, corpus.length)
})

test('reference frames carry the 14 declared fields in order; probes and Node stand-ins are told apart', async (t) => {
  for (const entry of corpus.filter((e) => e.fromReference)) {
    t.same(Object.keys(frameObject(entry)), entry.dir === 'client->server' ? REFERENCE_CLIENT_FIELDS : REFERENCE_SERVER_FIELDS, key(entry))
  }
  t.notOk(line('s2-error-matrix.jsonl', 5).fromReference, 'a raw probe frame')
  t.ok(line('s2-error-matrix.jsonl', 4).fromReference, 'the Python server answering a probe')
  t.equal(wireText(line('s2-error-matrix.jsonl', 8)), 'not json')
  t.throws(() => frameObject(line('s2-error-matrix.jsonl', 8)))
  t.throws(() => line('s1-task-roundtrip.jsonl', 999))
  t.throws(() => transcript('nope.jsonl'))
})

test('sameAsReference ignores volatile values only', async (t) => {
  const reference = frameObject(line('s1-task-roundtrip.jsonl', 2))
  sameAsReference(t, { ...reference, timestamp: '2030-01-01T00:00:00.000001+00:00', response_id: 'another' }, reference, 'fresh ids')
  t.same(stripVolatile({ a: [{ call_id: 'x', b: 1 }] }), { a: [{ call_id: 'string', b: 1 }] })
})
