import { readFileSync, readdirSync } from 'node:fs'
import { test } from 'tap'
import { decodeClientMessage, ProtocolErrorCode } from '../src/index.js'

/** Runs `fn` and counts the texts JSON.parse is given meanwhile. */
function parses (fn: () => void): number {
  const original = JSON.parse
  let count = 0
  JSON.parse = ((text: string, reviver?: (key: string, value: unknown) => unknown) => {
    count++
    return original(text, reviver)
  }) as typeof JSON.parse
  try { fn() } finally { JSON.parse = original }
  return count
}

const fixtures = new URL('../../test-support/fixtures/ufo-wire/', import.meta.url)

/** Every device HEARTBEAT the reference clients sent in the captured sessions, as its text. */
function capturedHeartbeats (): string[] {
  const texts: string[] = []
  for (const name of readdirSync(fixtures).filter((file) => file.endsWith('.jsonl'))) {
    for (const line of readFileSync(new URL(name, fixtures), 'utf8').split('\n')) {
      if (line.trim() === '') continue
      const entry = JSON.parse(line) as { dir?: string, frame?: { type?: string, metadata?: unknown } }
      if (entry.dir === 'client->server' && entry.frame?.type === 'heartbeat' && entry.frame.metadata === null) texts.push(JSON.stringify(entry.frame))
    }
  }
  return texts
}

test('a device HEARTBEAT as the reference writes it decodes to what a parse gives, without a parse', async (t) => {
  const frames = capturedHeartbeats()
  t.ok(frames.length > 0, 'the captured sessions hold device heartbeats')
  // The same form with an empty client id and a non-ASCII one.
  frames.push((frames[0] as string).replace(/"client_id":"[^"]*"/, '"client_id":""'), (frames[0] as string).replace(/"client_id":"[^"]*"/, '"client_id":"gerät-ü"'))
  for (const frame of frames) {
    let result!: ReturnType<typeof decodeClientMessage>
    t.equal(parses(() => { result = decodeClientMessage(frame) }), 0, 'not parsed')
    t.same(result, { ok: true, value: JSON.parse(frame), extra: null })
    if (result.ok) t.same(Object.keys(result.value), Object.keys(JSON.parse(frame)), 'fields in wire order')
  }
})

test('a HEARTBEAT in any other form is decoded, accepted or refused, by the general decoder', async (t) => {
  const base = { type: 'heartbeat', status: 'ok', client_type: 'device', session_id: null, task_name: null, client_id: 'dev1', target_id: null, request: null, action_results: null, timestamp: '2026-11-23T23:21:21.970082+00:00', request_id: null, prev_response_id: null, error: null, metadata: null }
  const canonical = JSON.stringify(base)
  const accepted: Array<[string, string, Record<string, unknown>]> = [
    ['an escaped character in client_id', canonical.replace('"dev1"', '"dev\\u0031"'), base],
    ['an escaped quote in client_id', canonical.replace('"dev1"', '"d\\"1"'), { ...base, client_id: 'd"1' }],
    ['a space after a colon', canonical.replace('"type":', '"type": '), base],
    ['a constellation', JSON.stringify({ ...base, client_type: 'constellation' }), { ...base, client_type: 'constellation' }],
    ['metadata', JSON.stringify({ ...base, metadata: { device_id: 'dev1' } }), { ...base, metadata: { device_id: 'dev1' } }],
    ['a null timestamp', JSON.stringify({ ...base, timestamp: null }), { ...base, timestamp: null }]
  ]
  for (const [what, frame, value] of accepted) {
    let result!: ReturnType<typeof decodeClientMessage>
    t.equal(parses(() => { result = decodeClientMessage(frame) }), 1, `${what}: parsed`)
    t.same(result, { ok: true, value, extra: null }, `${what}: decoded`)
  }
  const refused: Array<[string, string, string]> = [
    ['a control character in client_id', canonical.replace('"dev1"', '"dev\u00011"'), ProtocolErrorCode.INVALID_JSON],
    ['a control character in the timestamp', canonical.replace('+00:00', '+00:00\n'), ProtocolErrorCode.INVALID_JSON],
    ['a status the reference does not know', canonical.replace('"ok"', '"fine"'), ProtocolErrorCode.INVALID_MESSAGE],
    ['a timestamp running into the next field', canonical.replace('"timestamp":"2026-11-23T23:21:21.970082+00:00"', '"timestamp":"'), ProtocolErrorCode.INVALID_JSON],
    ['a second object after it', `${canonical}{}`, ProtocolErrorCode.INVALID_JSON],
    ['a cut timestamp', canonical.replace('.970082+00:00","request_id"', '","request_id"').replace('2026', '"2026'), ProtocolErrorCode.INVALID_JSON]
  ]
  for (const [what, frame, code] of refused) {
    let result!: ReturnType<typeof decodeClientMessage>
    t.equal(parses(() => { result = decodeClientMessage(frame) }), 1, `${what}: parsed`)
    t.match(result, { ok: false, error: { code } }, `${what}: refused`)
  }
})

test('a reference HEARTBEAT larger than maxBytes is refused before it is read', async (t) => {
  const frame = JSON.stringify({ type: 'heartbeat', status: 'ok', client_type: 'device', session_id: null, task_name: null, client_id: 'd'.repeat(400), target_id: null, request: null, action_results: null, timestamp: 't', request_id: null, prev_response_id: null, error: null, metadata: null })
  t.match(decodeClientMessage(frame, { maxBytes: 300 }), { ok: false, error: { code: ProtocolErrorCode.FRAME_TOO_LARGE } })
})
