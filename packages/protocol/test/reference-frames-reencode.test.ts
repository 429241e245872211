import { test } from 'tap'
import { decodeClientMessage, decodeServerMessage, encodeClientMessage, encodeServerMessage } from '../src/index.js'
import { corpus, key, wireText } from '@aip/test-support'

test('every frame the reference generated re-encodes to the same bytes', async (t) => {
  let checked = 0
  for (const entry of corpus) {
    if (!entry.fromReference) continue
    const text = wireText(entry)
    if (entry.dir === 'client->server') {
      const result = decodeClientMessage(text)
      if (!result.ok) { t.fail(`${key(entry)}: ${result.error.message}`); continue }
      t.equal(encodeClientMessage(result.value), text, key(entry))
    } else {
      const result = decodeServerMessage(text)
      if (!result.ok) { t.fail(`${key(entry)}: ${result.error.message}`); continue }
      t.equal(encodeServerMessage(result.value), text, key(entry))
    }
    checked++
  }
  t.ok(checked >= 149, `re-encoded ${checked} frames`)
})

test('frames from hand-written probes are re-encoded in the full reference form', async (t) => {
  const result = decodeClientMessage('{"type": "heartbeat", "status": "ok", "client_type": "constellation", "client_id": "c2"}')
  t.ok(result.ok)
  if (!result.ok) return
  t.equal(
    encodeClientMessage(result.value),
    '{"type":"heartbeat","status":"ok","client_type":"constellation","session_id":null,"task_name":null,' +
    '"client_id":"c2","target_id":null,"request":null,"action_results":null,"timestamp":null,"request_id":null,' +
    '"prev_response_id":null,"error":null,"metadata":null}'
  )
})
