import { test } from 'tap'
import { CLIENT_MESSAGE_FIELDS, decodeClientMessage, decodeServerMessage, SERVER_MESSAGE_FIELDS } from '../src/index.js'
import { corpus, key, REFERENCE_PARSE_REJECTIONS, wireText } from '@aip/test-support'

test('every frame the reference accepted decodes, with every declared field present', async (t) => {
  let decoded = 0
  for (const entry of corpus) {
    if (REFERENCE_PARSE_REJECTIONS.has(key(entry)) || entry.binary === true) continue
    const result = entry.dir === 'client->server'
      ? decodeClientMessage(wireText(entry))
      : decodeServerMessage(wireText(entry))
    if (!result.ok) {
      t.fail(`${key(entry)} was rejected: ${result.error.message}`)
      continue
    }
    const fields = entry.dir === 'client->server' ? CLIENT_MESSAGE_FIELDS : SERVER_MESSAGE_FIELDS
    t.same(Object.keys(result.value), fields, `${key(entry)} has the 14 fields in wire order`)
    t.equal(result.extra, null, `${key(entry)} has no unknown field`)
    decoded++
  }
  t.ok(decoded > 150, `decoded ${decoded} frames`)
})

test('the reference generates both envelopes with exactly the declared fields in declaration order', async (t) => {
  let checked = 0
  for (const entry of corpus) {
    if (!entry.fromReference || typeof entry.frame !== 'object') continue
    const fields = entry.dir === 'client->server' ? CLIENT_MESSAGE_FIELDS : SERVER_MESSAGE_FIELDS
    t.same(Object.keys(entry.frame as object), fields, key(entry))
    checked++
  }
  t.ok(checked >= 149, `checked ${checked} reference frames`)
})

test('a frame with omitted optional fields decodes with nulls and client_type defaulting to device', async (t) => {
  const result = decodeClientMessage('{"type": "register", "status": "ok", "client_id": "devA"}')
  t.ok(result.ok)
  if (!result.ok) return
  t.equal(result.value.client_type, 'device')
  t.equal(result.value.session_id, null)
  t.equal(result.value.metadata, null)
  t.equal(result.value.client_id, 'devA')
})

test('a binary frame carrying JSON decodes like text (the transport decides whether binary is allowed)', async (t) => {
  const entry = corpus.find((line) => line.binary === true)
  t.ok(entry, 'the corpus holds the s7 binary frame')
  const result = decodeClientMessage(Buffer.from(wireText(entry!), 'utf8'))
  t.ok(result.ok)
})
