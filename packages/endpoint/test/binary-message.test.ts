import { createHash } from 'node:crypto'
import t from 'tap'
import { linkedProtocols, nextEvent } from './helpers.js'

const md5 = (data: Uint8Array): string => createHash('md5').update(data).digest('hex')

interface TransferError { transferId: string | null, error: { code: string } }

t.test('sendBinary sends a metadata text frame, then exactly one binary frame', async (t) => {
  const { client, serverTransport } = linkedProtocols()
  t.teardown(() => client.close())
  const frames: Array<string | Buffer> = []
  const two = new Promise<void>((resolve) => serverTransport.on('message', (f) => { if (frames.push(f) === 2) resolve() }))
  const data = Buffer.from('hello')
  const transferId = await client.sendBinary(data, { filename: 'a.txt', mimeType: 'text/plain', sessionId: 's1', description: 'd', extra: { x: 1 } })
  await two
  const meta = JSON.parse(frames[0] as string)
  t.match(meta, { x: 1, type: 'binary_data', filename: 'a.txt', mime_type: 'text/plain', session_id: 's1', description: 'd', size: 5, checksum: md5(data), transfer_id: transferId })
  t.type(meta.timestamp, 'string')
  t.same(frames[1], data)
})

t.test('the receiver gets the payload and its metadata, as an event and through receiveBinary', async (t) => {
  const { client, server } = linkedProtocols()
  t.teardown(() => client.close())
  const event = nextEvent<{ data: Buffer, metadata: { filename: string } }>(server, 'binary')
  const received = server.receiveBinary({ transferId: 'b1' })
  await client.sendBinary(Buffer.from([0, 1, 2, 255]), { filename: 'x.bin', transferId: 'b1' })
  const payload = await received
  t.same([...payload.data], [0, 1, 2, 255])
  t.equal(payload.transferId, 'b1')
  t.equal((await event).metadata.filename, 'x.bin')
})

t.test('a reference-style payload without transfer_id or checksum is accepted', async (t) => {
  const { server, clientTransport } = linkedProtocols()
  t.teardown(() => server.close())
  const received = server.receiveBinary()
  await clientTransport.send('{"filename": "s.png", "type": "binary_data", "size": 3, "timestamp": "2026-11-23T23:12:11.600000+00:00"}')
  await clientTransport.send(Buffer.from('abc'))
  const payload = await received
  t.equal(payload.transferId, null)
  t.equal(payload.data.toString(), 'abc')
})

t.test('a payload whose length differs from the announced size is refused with the size code', async (t) => {
  const { server, clientTransport } = linkedProtocols()
  t.teardown(() => server.close())
  const received = server.receiveBinary()
  await clientTransport.send(JSON.stringify({ type: 'binary_data', size: 4, transfer_id: 't' }))
  await clientTransport.send(Buffer.from('abc'))
  await t.rejects(received, { code: 'AIP_ERR_ENDPOINT_TRANSFER_SIZE' })
})

t.test('a payload whose MD5 differs from its checksum is refused with the checksum code', async (t) => {
  const { server, clientTransport } = linkedProtocols()
  t.teardown(() => server.close())
  const error = nextEvent<TransferError>(server, 'transferError')
  await clientTransport.send(JSON.stringify({ type: 'binary_data', size: 3, checksum: md5(Buffer.from('abd')), transfer_id: 't' }))
  await clientTransport.send(Buffer.from('abc'))
  const event = await error
  t.equal(event.error.code, 'AIP_ERR_ENDPOINT_TRANSFER_CHECKSUM')
  t.equal(event.transferId, 't')
})

t.test('a payload above maxFileBytes is refused from its metadata and its bytes are discarded', async (t) => {
  const { server, clientTransport } = linkedProtocols({}, { maxFileBytes: 2 })
  t.teardown(() => server.close())
  const errors: TransferError[] = []
  server.on('transferError', (e) => { errors.push(e as TransferError) })
  const invalid: unknown[] = []
  server.on('invalidFrame', (e) => { invalid.push(e) })
  const next = server.receive('heartbeat')
  await clientTransport.send(JSON.stringify({ type: 'binary_data', size: 3 }))
  await clientTransport.send(Buffer.from('abc'))
  await clientTransport.send(JSON.stringify({ type: 'heartbeat', status: 'ok', client_id: 'd' }))
  await next
  t.same(errors.map((e) => e.error.code), ['AIP_ERR_ENDPOINT_TRANSFER_TOO_LARGE'])
  t.same(invalid, [], 'the announced binary frame is swallowed, not reported as unexpected')
})

t.test('a second metadata frame before the announced binary frame fails the first payload', async (t) => {
  const { server, clientTransport } = linkedProtocols()
  t.teardown(() => server.close())
  const error = nextEvent<TransferError>(server, 'transferError')
  const second = server.receiveBinary({ transferId: 'two' })
  await clientTransport.send(JSON.stringify({ type: 'binary_data', size: 1, transfer_id: 'one' }))
  await clientTransport.send(JSON.stringify({ type: 'binary_data', size: 1, transfer_id: 'two' }))
  await clientTransport.send(Buffer.from('z'))
  t.match(await error, { transferId: 'one', error: { code: 'AIP_ERR_ENDPOINT_TRANSFER_ORDER' } })
  t.equal((await second).data.toString(), 'z')
})

t.test('sendBinary refuses something that is not bytes, and refuses to send when closed', async (t) => {
  const { client } = linkedProtocols()
  await t.rejects(client.sendBinary('text' as never), { code: 'AIP_ERR_INVALID_ARGUMENT' })
  client.close()
  await t.rejects(client.sendBinary(Buffer.from('a')), { code: 'AIP_ERR_ENDPOINT_TRANSPORT_CLOSED' })
})
