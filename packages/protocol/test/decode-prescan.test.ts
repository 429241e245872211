import { test } from 'tap'
import { decodeClientMessage, ProtocolErrorCode } from '../src/index.js'

/** Runs `fn` while recording the length of every text JSON.parse is given. */
function parsedLengths (fn: () => void): number[] {
  const original = JSON.parse
  const lengths: number[] = []
  JSON.parse = ((text: string, reviver?: (key: string, value: unknown) => unknown) => {
    lengths.push(text.length)
    return original(text, reviver)
  }) as typeof JSON.parse
  try { fn() } finally { JSON.parse = original }
  return lengths
}

test('a frame nested deeper than maxDepth is refused by a linear scan, never parsed, and keeps its ids', async (t) => {
  const depth = 200_000
  const frame = `{"type":"heartbeat","session_id":"s-1","status":"ok","metadata":${'['.repeat(depth)}${']'.repeat(depth)},"request_id":"r-1"}`
  let result!: ReturnType<typeof decodeClientMessage>
  const lengths = parsedLengths(() => { result = decodeClientMessage(frame, { maxBytes: 1_000_000 }) })
  t.notOk(result.ok)
  if (result.ok) return
  t.equal(result.error.code, ProtocolErrorCode.FRAME_TOO_DEEP)
  t.same(result.correlation, { sessionId: 's-1', requestId: 'r-1' }, 'its top-level ids, read by the scan')
  t.ok(lengths.every((length) => length < 100), `only the ids were parsed (${lengths.join(', ')})`)
})

test('brackets inside strings, escaped quotes and nested ids do not fool the scan', async (t) => {
  const frame = JSON.stringify({ type: 'heartbeat', status: 'ok', error: '[[[[{{{{"\\', metadata: { session_id: 'inner' }, session_id: 'outer "quoted"' })
  const deep = JSON.stringify({ type: 'bogus', status: 'ok', request_id: 'r' })
  t.ok(decodeClientMessage(frame, { maxDepth: 2 }).ok, 'strings do not count as nesting')
  const refused = decodeClientMessage(frame, { maxDepth: 1 })
  t.match(refused, { ok: false, error: { code: ProtocolErrorCode.FRAME_TOO_DEEP }, correlation: { sessionId: 'outer "quoted"' } })
  t.match(decodeClientMessage(deep), { ok: false, error: { code: ProtocolErrorCode.INVALID_MESSAGE }, correlation: { requestId: 'r' } })
  t.match(decodeClientMessage('[{"session_id":"x"}]'), { ok: false }, 'a top-level array has no ids')
  t.notOk((decodeClientMessage('{"session_id":"unterminated') as { correlation?: unknown }).correlation)
})

test('an invalid message is parsed once, and its ERROR ids come from that parse', async (t) => {
  const frame = JSON.stringify({ type: 'bogus', status: 'ok', session_id: 'sid', request_id: 'rid', metadata: { a: 1 } })
  let result!: ReturnType<typeof decodeClientMessage>
  const lengths = parsedLengths(() => { result = decodeClientMessage(frame) })
  t.equal(lengths.filter((length) => length === frame.length).length, 1, 'one parse of the frame')
  t.match(result, { ok: false, correlation: { sessionId: 'sid', requestId: 'rid' } })
})

test('a frame with no more opening brackets than maxDepth is parsed once, unscanned; one with more is scanned, then decoded', async (t) => {
  const frame = JSON.stringify({ type: 'task', status: 'continue', client_type: 'constellation', session_id: 's-1', request_id: 'r-1', metadata: { a: [1, { b: 2 }] } })
  let result!: ReturnType<typeof decodeClientMessage>
  t.same(parsedLengths(() => { result = decodeClientMessage(frame, { maxDepth: 4 }) }), [frame.length], 'one parse, no scan of the ids')
  t.ok(result.ok)
  const shallow = JSON.stringify({ type: 'task', status: 'continue', session_id: 's-2', metadata: { list: Array.from({ length: 70 }, () => [{}]) } })
  const lengths = parsedLengths(() => { result = decodeClientMessage(shallow) })
  t.ok(result.ok, '140 brackets, nested 4 deep: accepted')
  t.same(lengths, ['"s-2"'.length, shallow.length], 'scanned (its id read by the scan), then parsed')
  t.match(decodeClientMessage(frame, { maxDepth: 2 }), { ok: false, error: { code: ProtocolErrorCode.FRAME_TOO_DEEP }, correlation: { sessionId: 's-1', requestId: 'r-1' } })
})
