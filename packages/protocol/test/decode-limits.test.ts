import { test } from 'tap'
import {
  decodeClientMessage, decodeServerMessage, DEFAULT_MAX_DEPTH, DEFAULT_MAX_FRAME_BYTES, ProtocolErrorCode,
  type DecodeResult
} from '../src/index.js'

const heartbeat = '{"type":"heartbeat","status":"ok","client_id":"dev1"}'

function code (result: DecodeResult<unknown>): string | undefined {
  return result.ok ? undefined : result.error.code
}

test('text, bytes, ArrayBuffer and fragments decode alike', async (t) => {
  const bytes = Buffer.from(heartbeat, 'utf8')
  const arrayBuffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)
  const fragments = [bytes.subarray(0, 10), bytes.subarray(10)]
  for (const frame of [heartbeat, bytes, new Uint8Array(bytes), arrayBuffer, fragments, [bytes]]) {
    const result = decodeClientMessage(frame)
    t.ok(result.ok)
    if (result.ok) t.equal(result.value.client_id, 'dev1')
  }
})

test('invalid UTF-8 is rejected, not replaced', async (t) => {
  const frame = Buffer.concat([Buffer.from('{"type":"heartbeat","status":"ok","client_id":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])
  t.equal(code(decodeClientMessage(frame)), ProtocolErrorCode.INVALID_JSON)
  t.equal(code(decodeClientMessage(Buffer.from([0xff, 0xfe, 0xfd]))), ProtocolErrorCode.INVALID_JSON)
})

test('a frame over maxBytes is rejected before it is parsed', async (t) => {
  const big = `{"type":"heartbeat","status":"ok","error":"${'x'.repeat(DEFAULT_MAX_FRAME_BYTES)}"}`
  const result = decodeClientMessage(big)
  t.equal(code(result), ProtocolErrorCode.FRAME_TOO_LARGE)
  t.equal(code(decodeClientMessage(Buffer.from(big))), ProtocolErrorCode.FRAME_TOO_LARGE)
  t.equal(code(decodeClientMessage([Buffer.from(big), Buffer.from(big)])), ProtocolErrorCode.FRAME_TOO_LARGE)
  t.ok(decodeClientMessage(big, { maxBytes: big.length }).ok, 'a larger limit accepts it')
})

test('a 100 MB frame is refused at once', async (t) => {
  const huge = 'x'.repeat(100 * 1024 * 1024)
  t.equal(code(decodeClientMessage(huge)), ProtocolErrorCode.FRAME_TOO_LARGE)
})

test('multi-byte text is measured in UTF-8 bytes', async (t) => {
  // 1,000 characters of 3 bytes each: 3,000 bytes of UTF-8.
  const text = `{"type":"heartbeat","status":"ok","error":"${'€'.repeat(1000)}"}`
  t.equal(code(decodeClientMessage(text, { maxBytes: 2000 })), ProtocolErrorCode.FRAME_TOO_LARGE)
  t.ok(decodeClientMessage(text, { maxBytes: 4000 }).ok)
})

test('nesting deeper than maxDepth is rejected without overflowing the stack', async (t) => {
  const depth = 100_000
  const deepObject = `{"type":"heartbeat","status":"ok","metadata":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`
  t.equal(code(decodeClientMessage(deepObject, { maxBytes: 10_000_000 })), ProtocolErrorCode.FRAME_TOO_DEEP)
  const deepArray = `{"type":"task_end","status":"ok","result":${'['.repeat(depth)}${']'.repeat(depth)}}`
  t.equal(code(decodeServerMessage(deepArray, { maxBytes: 10_000_000 })), ProtocolErrorCode.FRAME_TOO_DEEP)
  const atLimit = `{"type":"heartbeat","status":"ok","metadata":${'{"a":'.repeat(DEFAULT_MAX_DEPTH - 1)}1${'}'.repeat(DEFAULT_MAX_DEPTH - 1)}}`
  t.ok(decodeClientMessage(atLimit).ok, `${DEFAULT_MAX_DEPTH} levels (the frame itself included) are accepted`)
  t.equal(code(decodeClientMessage(atLimit, { maxDepth: 10 })), ProtocolErrorCode.FRAME_TOO_DEEP)
})

test('unknown fields are ignored and handed back in extra', async (t) => {
  const result = decodeClientMessage('{"type":"heartbeat","status":"ok","x_trace":"abc","hops":2}')
  t.ok(result.ok)
  if (!result.ok) return
  t.same({ ...result.extra }, { x_trace: 'abc', hops: 2 })
  t.notOk('x_trace' in result.value, 'the message itself holds only declared fields')
})

test('a __proto__ key cannot pollute anything', async (t) => {
  const result = decodeClientMessage('{"type":"heartbeat","status":"ok","__proto__":{"polluted":true},"metadata":{"__proto__":{"polluted":true}}}')
  t.ok(result.ok)
  if (!result.ok) return
  t.equal(({} as Record<string, unknown>).polluted, undefined)
  t.equal(Object.getPrototypeOf(result.extra), null)
  t.equal((result.extra as Record<string, unknown>).polluted, undefined)
})

test('the JSON error text is bounded', async (t) => {
  const result = decodeClientMessage(`{"type": ${'x'.repeat(10_000)}`)
  t.notOk(result.ok)
  if (!result.ok) t.ok(result.error.message.length < 200)
})
