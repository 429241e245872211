import { once } from 'node:events'
import { test } from 'tap'
import WebSocket, { WebSocketServer } from 'ws'
import { recordFrames, type WireEntry } from '../src/continuity/wire-log.js'
import { FaultProxy } from '../src/proxy.js'

test('the frame recorder decodes text and close frames of every size both ways, unmasking the client\'s', async (t) => {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await once(server, 'listening')
  t.teardown(() => server.close())
  const port = (server.address() as { port: number }).port
  const proxy = await FaultProxy.start(() => port)
  t.teardown(() => proxy.close())

  const entries: WireEntry[] = []
  let expected = 0
  let done: () => void = () => {}
  const all = new Promise<void>((resolve) => { done = resolve })
  recordFrames(proxy, 'link', (entry) => { entries.push(entry); if (entries.length === expected) done() })

  const medium = { text: 'm'.repeat(300) }
  const large = { text: 'l'.repeat(70_000) }
  server.on('connection', (socket) => {
    socket.on('message', (data) => {
      if (String(data) === 'bye') { socket.close(4000, 'done'); return }
      socket.send(JSON.stringify({ echo: JSON.parse(String(data)) as unknown }))
    })
  })
  expected = 9
  const client = new WebSocket(`ws://127.0.0.1:${proxy.port}/`)
  await once(client, 'open')
  client.send(JSON.stringify({ n: 1 }))
  client.send(JSON.stringify(medium))
  client.send(JSON.stringify(large))
  client.send('bye')
  await all

  const up = entries.filter((e) => e.direction === 'up').map((e) => e.frame)
  const down = entries.filter((e) => e.direction === 'down').map((e) => e.frame)
  t.same(up, [{ n: 1 }, medium, large, 'bye', { close: 4000 }], 'client frames: 7-bit, 16-bit and 64-bit lengths, text, close')
  t.same(down, [{ echo: { n: 1 } }, { echo: medium }, { echo: large }, { close: 4000 }], 'server frames in order')
  t.ok(entries.every((e) => e.link === 'link' && e.connection === 1), 'labelled with the link and the connection')
})
