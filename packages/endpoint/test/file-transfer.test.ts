import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import t from 'tap'
import { buildServerHeartbeat } from '@aip/protocol'
import { rechunk } from '../src/protocol.js'
import { linkedProtocols, nextEvent } from './helpers.js'

const md5 = (data: Uint8Array): string => createHash('md5').update(data).digest('hex')

interface TransferError { transferId: string | null, error: { code: string } }

t.test('sendFile writes the reference frame sequence, every frame carrying transfer_id', async (t) => {
  const { client, serverTransport } = linkedProtocols()
  t.teardown(() => client.close())
  const frames: Array<string | Buffer> = []
  serverTransport.on('message', (f) => { frames.push(f) })
  const data = randomBytes(2500)
  const sent = await client.sendFile(data, { filename: 'log.zip', chunkSize: 1000, mimeType: 'application/zip', sessionId: 's1', description: 'logs', transferId: 'f1' })
  t.same(sent, { transferId: 'f1', size: 2500, totalChunks: 3, checksum: md5(data) })
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(frames.length, 8, 'start, 3 × (metadata, bytes), complete')
  t.match(JSON.parse(frames[0] as string), { type: 'file_transfer_start', filename: 'log.zip', size: 2500, chunk_size: 1000, total_chunks: 3, mime_type: 'application/zip', session_id: 's1', description: 'logs', transfer_id: 'f1' })
  for (let i = 0; i < 3; i++) {
    const meta = JSON.parse(frames[1 + i * 2] as string)
    const size = i === 2 ? 500 : 1000
    t.match(meta, { chunk_num: i, chunk_size: size, type: 'binary_data', size, transfer_id: 'f1' })
    t.ok(Buffer.isBuffer(frames[2 + i * 2]))
  }
  t.same(JSON.parse(frames[7] as string), { type: 'file_transfer_complete', filename: 'log.zip', total_chunks: 3, checksum: md5(data), session_id: 's1', transfer_id: 'f1' })
})

t.test('the receiver reassembles the file and checks its size and MD5', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  const data = randomBytes(10_000)
  const event = nextEvent<{ filename: string }>(server, 'file')
  const received = server.receiveFile()
  await client.sendFile(data, { filename: 'big.bin', chunkSize: 3000, mimeType: 'application/octet-stream' })
  const file = await received
  t.ok(file.data.equals(data))
  t.match(file, { filename: 'big.bin', size: 10_000, totalChunks: 4, checksum: md5(data), mimeType: 'application/octet-stream', sessionId: null })
  t.equal((await event).filename, 'big.bin')
  t.equal(server.openTransfers, 0)
})

t.test('a file can come from a stream of pieces of any size', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  const data = randomBytes(5000)
  const pieces = [data.subarray(0, 7), data.subarray(7, 2600), data.subarray(2600)]
  const received = server.receiveFile()
  await client.sendFile(Readable.from(pieces), { filename: 'stream.bin', size: 5000, chunkSize: 1024 })
  t.ok((await received).data.equals(data))
})

t.test('an empty file is a start and a completion', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  const received = server.receiveFile()
  const sent = await client.sendFile(new Uint8Array(0), { filename: 'empty' })
  t.equal(sent.totalChunks, 0)
  t.equal((await received).size, 0)
})

t.test('messages can be sent between the chunks of a transfer', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => server.close())
  const order: string[] = []
  client.onMessage('heartbeat', () => { order.push('heartbeat') })
  client.on('file', () => { order.push('file') })
  const received = client.receiveFile()
  async function * slow (): AsyncGenerator<Uint8Array> {
    yield Buffer.alloc(10, 1)
    await server.send(buildServerHeartbeat())
    yield Buffer.alloc(10, 2)
  }
  await server.sendFile(slow(), { filename: 'x', size: 20, chunkSize: 10 })
  await received
  t.same(order, ['heartbeat', 'file'])
})

t.test('an exclusive transfer lets nothing in between its frames', async (t) => {
  const { client, server, clientTransport } = linkedProtocols()
  t.teardown(() => server.close())
  const kinds: string[] = []
  clientTransport.on('message', (f) => { kinds.push(typeof f === 'string' ? (JSON.parse(f).type as string) : 'bytes') })
  const received = client.receiveFile()
  let heartbeat: Promise<void> | undefined
  async function * slow (): AsyncGenerator<Uint8Array> {
    yield Buffer.alloc(10, 1)
    heartbeat = server.send(buildServerHeartbeat())
    yield Buffer.alloc(10, 2)
  }
  await server.sendFile(slow(), { filename: 'x', size: 20, chunkSize: 10, exclusive: true })
  await heartbeat
  await received
  await new Promise((resolve) => setImmediate(resolve))
  t.same(kinds, ['file_transfer_start', 'binary_data', 'bytes', 'binary_data', 'bytes', 'file_transfer_complete', 'heartbeat'])
})

t.test('two transfers interleaved on one connection are told apart by transfer_id', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  const a = randomBytes(3000)
  const b = randomBytes(2000)
  const gotA = server.receiveFile({ transferId: 'a' })
  const gotB = server.receiveFile({ transferId: 'b' })
  await Promise.all([
    client.sendFile(a, { filename: 'a', chunkSize: 500, transferId: 'a' }),
    client.sendFile(b, { filename: 'b', chunkSize: 500, transferId: 'b' })
  ])
  t.ok((await gotA).data.equals(a))
  t.ok((await gotB).data.equals(b))
})

t.test('a reference transfer without transfer_id, in json.dumps form, is reassembled', async (t) => {
  const { server, clientTransport } = linkedProtocols()
  t.teardown(() => server.close())
  const data = Buffer.from('abcdefg')
  const received = server.receiveFile()
  await clientTransport.send('{"type": "file_transfer_start", "filename": "f.txt", "size": 7, "chunk_size": 4, "total_chunks": 2, "mime_type": null}')
  await clientTransport.send('{"chunk_num": 0, "chunk_size": 4, "type": "binary_data", "size": 4, "timestamp": "2026-11-23T23:12:11.600000+00:00"}')
  await clientTransport.send(data.subarray(0, 4))
  await clientTransport.send('{"chunk_num": 1, "chunk_size": 3, "type": "binary_data", "size": 3, "timestamp": "2026-11-23T23:12:11.700000+00:00"}')
  await clientTransport.send(data.subarray(4))
  await clientTransport.send(`{"type": "file_transfer_complete", "filename": "f.txt", "total_chunks": 2, "checksum": "${md5(data)}"}`)
  const file = await received
  t.equal(file.transferId, null)
  t.equal(file.data.toString(), 'abcdefg')
})

/** Sends raw transfer frames from the client side and returns the server's first transfer error. */
async function rawTransfer (frames: Array<string | object | Buffer>, serverOptions = {}): Promise<TransferError> {
  const { server, clientTransport } = linkedProtocols({}, serverOptions)
  const error = nextEvent<TransferError>(server, 'transferError')
  for (const frame of frames) {
    await clientTransport.send(Buffer.isBuffer(frame) ? frame : typeof frame === 'string' ? frame : JSON.stringify(frame))
  }
  const event = await error
  server.close()
  return event
}

const start = { type: 'file_transfer_start', filename: 'f', size: 4, chunk_size: 2, total_chunks: 2, mime_type: null, transfer_id: 't' }
const chunk = (n: number, size = 2): object => ({ chunk_num: n, chunk_size: size, type: 'binary_data', size, transfer_id: 't' })
const complete = (checksum?: string, total = 2): object => ({ type: 'file_transfer_complete', filename: 'f', total_chunks: total, checksum, transfer_id: 't' })

t.test('a chunk out of order fails the transfer with the order code', async (t) => {
  const event = await rawTransfer([start, chunk(1), Buffer.from('ab')])
  t.match(event, { transferId: 't', error: { code: 'AIP_ERR_ENDPOINT_TRANSFER_ORDER' } })
})

t.test('a chunk of a transfer that was never started fails with the order code', async (t) => {
  const event = await rawTransfer([chunk(0), Buffer.from('ab')])
  t.equal(event.error.code, 'AIP_ERR_ENDPOINT_TRANSFER_ORDER')
})

t.test('a completion of an unknown transfer fails with the order code', async (t) => {
  const event = await rawTransfer([complete()])
  t.equal(event.error.code, 'AIP_ERR_ENDPOINT_TRANSFER_ORDER')
})

t.test('a completion that counts other chunks than were received fails with the order code', async (t) => {
  const event = await rawTransfer([start, chunk(0), Buffer.from('ab'), chunk(1), Buffer.from('cd'), complete(undefined, 3)])
  t.equal(event.error.code, 'AIP_ERR_ENDPOINT_TRANSFER_ORDER')
})

t.test('a completion before the last chunk\'s bytes fails with the order code', async (t) => {
  const event = await rawTransfer([start, chunk(0), complete()])
  t.equal(event.error.code, 'AIP_ERR_ENDPOINT_TRANSFER_ORDER')
})

t.test('a second start with the same id drops both transfers', async (t) => {
  const event = await rawTransfer([start, start])
  t.equal(event.error.code, 'AIP_ERR_ENDPOINT_TRANSFER_ORDER')
})

t.test('a whole-file checksum mismatch fails with the checksum code', async (t) => {
  const event = await rawTransfer([start, chunk(0), Buffer.from('ab'), chunk(1), Buffer.from('cd'), complete(md5(Buffer.from('abce')))])
  t.equal(event.error.code, 'AIP_ERR_ENDPOINT_TRANSFER_CHECKSUM')
})

t.test('fewer bytes than announced fail with the size code', async (t) => {
  const event = await rawTransfer([{ ...start, total_chunks: 2, size: 5 }, chunk(0), Buffer.from('ab'), chunk(1), Buffer.from('cd'), complete()])
  t.equal(event.error.code, 'AIP_ERR_ENDPOINT_TRANSFER_SIZE')
})

t.test('a chunk larger than what is left fails with the size code', async (t) => {
  const event = await rawTransfer([start, chunk(0, 5)])
  t.equal(event.error.code, 'AIP_ERR_ENDPOINT_TRANSFER_SIZE')
})

t.test('a chunk whose bytes differ from its metadata fails with the size code', async (t) => {
  const event = await rawTransfer([start, chunk(0), Buffer.from('abc')])
  t.equal(event.error.code, 'AIP_ERR_ENDPOINT_TRANSFER_SIZE')
})

t.test('a file above maxFileBytes is refused at its start, and its chunks are swallowed', async (t) => {
  const { server, clientTransport } = linkedProtocols({}, { maxFileBytes: 3 })
  t.teardown(() => server.close())
  const errors: string[] = []
  server.on('transferError', (e) => { errors.push(e.error.code) })
  server.on('invalidFrame', (e) => { errors.push(e.error.code) })
  const next = server.receive('heartbeat')
  for (const frame of [start, chunk(0), Buffer.from('ab'), chunk(1), Buffer.from('cd'), complete()]) {
    await clientTransport.send(Buffer.isBuffer(frame) ? frame : JSON.stringify(frame))
  }
  await clientTransport.send(JSON.stringify({ type: 'heartbeat', status: 'ok' }))
  await next
  t.same(errors, ['AIP_ERR_ENDPOINT_TRANSFER_TOO_LARGE'])
})

t.test('more open transfers than maxConcurrentTransfers are refused with the limit code', async (t) => {
  const event = await rawTransfer([start, { ...start, transfer_id: 'u' }], { maxConcurrentTransfers: 1 })
  t.match(event, { transferId: 'u', error: { code: 'AIP_ERR_ENDPOINT_TRANSFER_LIMIT' } })
})

t.test('receiveFile rejects with the error of its transfer', async (t) => {
  const { server, clientTransport } = linkedProtocols()
  t.teardown(() => server.close())
  const other = server.receiveFile({ transferId: 'other' })
  const mine = server.receiveFile({ transferId: 't' })
  await clientTransport.send(JSON.stringify(complete()))
  await t.rejects(mine, { code: 'AIP_ERR_ENDPOINT_TRANSFER_ORDER' })
  t.equal(server.waiterCount, 1, 'the waiter of another transfer keeps waiting')
  server.close()
  await t.rejects(other, { code: 'AIP_ERR_ENDPOINT_TRANSPORT_CLOSED' })
})

t.test('a stream that yields fewer bytes than announced rejects, and the receiver drops the file', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  const received = server.receiveFile()
  await t.rejects(client.sendFile([Buffer.from('abc')], { filename: 'f', size: 5 }), { code: 'AIP_ERR_ENDPOINT_TRANSFER_SIZE' })
  await t.rejects(received, { code: 'AIP_ERR_ENDPOINT_TRANSFER_ABORTED' })
})

t.test('a stream that yields more bytes than announced rejects', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  const received = server.receiveFile()
  await t.rejects(client.sendFile([Buffer.from('abcdef')], { filename: 'f', size: 2, chunkSize: 2 }), { code: 'AIP_ERR_ENDPOINT_TRANSFER_SIZE' })
  await t.rejects(received, { code: 'AIP_ERR_ENDPOINT_TRANSFER_ABORTED' })
})

t.test('an aborted sendFile stops between chunks', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  const controller = new AbortController()
  const received = server.receiveFile()
  async function * source (): AsyncGenerator<Uint8Array> {
    yield Buffer.from('ab')
    controller.abort()
    yield Buffer.from('cd')
  }
  await t.rejects(client.sendFile(source(), { filename: 'f', size: 4, chunkSize: 2, signal: controller.signal }), { code: 'AIP_ERR_ABORTED' })
  await t.rejects(received, { code: 'AIP_ERR_ENDPOINT_TRANSFER_ABORTED' })
})

t.test('sendFile validates its arguments with coded errors', async (t) => {
  const { client } = linkedProtocols()
  await t.rejects(client.sendFile(Buffer.from('a'), {} as never), { code: 'AIP_ERR_INVALID_ARGUMENT' })
  await t.rejects(client.sendFile([Buffer.from('a')], { filename: 'f' }), { code: 'AIP_ERR_INVALID_ARGUMENT' })
  await t.rejects(client.sendFile(Buffer.from('a'), { filename: 'f', chunkSize: 0 }), { code: 'AIP_ERR_INVALID_ARGUMENT' })
  await t.rejects(client.sendFile(['text'] as never, { filename: 'f', size: 4 }), { code: 'AIP_ERR_INVALID_ARGUMENT' })
  client.close()
  await t.rejects(client.sendFile(Buffer.from('a'), { filename: 'f' }), { code: 'AIP_ERR_ENDPOINT_TRANSPORT_CLOSED' })
})

t.test('rechunk cuts pieces of any size into chunks of exactly chunkSize', async (t) => {
  const out: number[] = []
  for await (const c of rechunk([Buffer.alloc(3), Buffer.alloc(0), Buffer.alloc(6), Buffer.alloc(1)], 4)) out.push(c.byteLength)
  t.same(out, [4, 4, 2])
})
