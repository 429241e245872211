import t from 'tap'
import { buildServerHeartbeat, decodeServerMessage } from '@aip/protocol'
import { collect, linkedProtocols, nextEvent, settle } from './helpers.js'

const heartbeat = JSON.stringify({ type: 'heartbeat', status: 'ok', client_type: 'device', client_id: 'd1' })

t.test('post writes at once without a promise, emits sent, and keeps the order of the calls behind a middleware', async (t) => {
  const { client, server, clientTransport } = linkedProtocols()
  t.teardown(() => client.close())
  const frames: string[] = []
  clientTransport.on('message', (data) => frames.push(String(data)))
  const sent = collect<{ bytes: number }>(server, 'sent')
  t.equal(server.post(buildServerHeartbeat(), { validate: false }), true)
  t.equal(server.post(buildServerHeartbeat(), { encoded: '{"type":"heartbeat","status":"ok"}' }), true, 'a frame encoded once is sent as given')
  // A middleware makes post go through send, after the writes queued before it.
  server.use({ processOutgoing: (message) => ({ ...message, error: 'rewritten' }) })
  t.equal(server.post({ ...buildServerHeartbeat() }), true)
  await settle()
  t.equal(frames.length, 3)
  t.match(decodeServerMessage(frames[0] as string), { ok: true, value: { type: 'heartbeat' } })
  t.equal(frames[1], '{"type":"heartbeat","status":"ok"}')
  t.match(decodeServerMessage(frames[2] as string), { ok: true, value: { error: 'rewritten' } })
  t.equal(sent.length, 3, 'every frame is seen by the sent event')
  t.ok((sent[0] as { bytes: number }).bytes > 0)
})

t.test('post returns false on a closed connection and reports a failed write to onError', async (t) => {
  const { client, server } = linkedProtocols()
  client.close()
  await server.closed
  t.equal(server.post(buildServerHeartbeat()), false, 'closed: nothing sent')
  const { server: other, clientTransport } = linkedProtocols()
  const failed = new Promise<unknown>((resolve) => {
    t.equal(other.post(buildServerHeartbeat(), { onError: resolve }), true)
  })
  clientTransport.terminate()
  // The memory transport rejects a send only when closed; the write above may have gone through before.
  await Promise.race([failed, other.closed])
  t.pass('the failure, if any, went to onError and nothing threw')
})

t.test('with acceptTransfers false, a transfer frame is an invalid frame and a binary frame is unexpected', async (t) => {
  const { client, server, clientTransport } = linkedProtocols({}, { acceptTransfers: false })
  t.teardown(() => client.close())
  const invalid = collect<{ error: { code: string, message: string } }>(server, 'invalidFrame')
  await clientTransport.send('{"type":"file_transfer_start","filename":"a","size":1,"chunk_size":1,"total_chunks":1,"transfer_id":"x"}')
  await clientTransport.send(new Uint8Array([1, 2]))
  await settle()
  t.equal(invalid.length, 2)
  t.equal(invalid[0]?.error.code, 'AIP_ERR_PROTOCOL_INVALID_MESSAGE')
  t.notMatch(invalid[0]?.error.message, /transfer message/, 'decoded as a client message, not as a transfer')
  t.equal(invalid[1]?.error.code, 'AIP_ERR_ENDPOINT_UNEXPECTED_BINARY')
  t.equal(server.openTransfers, 0)
  t.throws(() => linkedProtocols({}, { acceptTransfers: 'no' as unknown as boolean }), { code: /INVALID_OPTION/ })
})

t.test('a malformed frame reports the ids it could read, to correlate the answer', async (t) => {
  const { client, server, clientTransport } = linkedProtocols()
  t.teardown(() => client.close())
  const invalid = nextEvent<{ correlation?: { sessionId?: string, requestId?: string } }>(server, 'invalidFrame')
  await clientTransport.send('{"type":"task","session_id":"s1","request_id":"r1"}')
  t.same((await invalid).correlation, { sessionId: 's1', requestId: 'r1' })
})

t.test('past maxQueuedFrames a frame is dropped with queueFull; queuedFrames and frameLength tell the load', async (t) => {
  const { client, server, clientTransport } = linkedProtocols({}, { maxQueuedFrames: 2 })
  t.teardown(() => client.close())
  let release!: () => void
  const held = new Promise<void>((resolve) => { release = resolve })
  const lengths: number[] = []
  const queued: number[] = []
  server.onAnyMessage(async () => {
    lengths.push(server.frameLength)
    queued.push(server.queuedFrames)
    await held
  })
  const full = collect<{ queued: number }>(server, 'queueFull')
  await clientTransport.send(heartbeat)
  await clientTransport.send(heartbeat)
  await clientTransport.send(heartbeat)
  await settle()
  t.same(full, [{ queued: 2 }], 'the third frame found two waiting and was dropped')
  t.equal(server.queuedFrames, 2)
  release()
  await settle()
  t.same(lengths, [heartbeat.length, heartbeat.length], 'two frames handled, each with its length')
  t.equal(queued[0], 1, 'the first frame was handled as it arrived, alone in the queue')
  t.equal(server.queuedFrames, 0)
})

t.test('a handler that throws or rejects becomes an error event and the next handlers still run', async (t) => {
  const { client, server, clientTransport } = linkedProtocols()
  t.teardown(() => client.close())
  const errors = collect<{ context: string }>(server, 'error')
  const seen: string[] = []
  server.onMessage('heartbeat', () => { throw new Error('sync') })
  server.onMessage('heartbeat', async () => { throw new Error('async') })
  server.onAnyMessage(() => { seen.push('any') })
  await clientTransport.send(heartbeat)
  await settle()
  t.same(seen, ['any'])
  t.same(errors.map((e) => e.context), ['handler', 'handler'])
})
