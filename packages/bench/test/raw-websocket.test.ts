import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { test, type Test } from 'tap'
import { WebSocketServer } from 'ws'
import { encodeClientText, RawWebSocket } from '../src/raw-ws.js'

async function server (t: Test): Promise<{ wss: WebSocketServer, port: number }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', path: '/ws' })
  await once(wss, 'listening')
  t.teardown(() => new Promise<void>((resolve) => { for (const c of wss.clients) c.terminate(); wss.close(() => resolve()) }))
  return { wss, port: (wss.address() as AddressInfo).port }
}

test('the raw client speaks text frames of every length class both ways with a ws server', async (t) => {
  const { wss, port } = await server(t)
  const texts = ['short', 'm'.repeat(300), 'l'.repeat(70_000)]
  wss.on('connection', (ws) => { ws.on('message', (data) => ws.send(`echo:${data.toString()}`)) })
  const received: string[] = []
  let done!: () => void
  const all = new Promise<void>((resolve) => { done = resolve })
  const client = new RawWebSocket({ host: '127.0.0.1', port, path: '/ws', handshakeTimeoutMs: 5000 }, {
    open: () => { for (const text of texts) client.sendFrame(encodeClientText(text)) },
    text: (text) => { received.push(text); if (received.length === texts.length) done() },
    close: () => {}
  })
  t.teardown(() => client.destroy())
  await all
  t.same(received, texts.map((text) => `echo:${text}`))
})

test('the raw client answers a ping and reports a server close once', async (t) => {
  const { wss, port } = await server(t)
  wss.on('connection', (ws) => {
    ws.on('pong', (data) => { t.equal(data.toString(), 'p1', 'the pong carries the ping payload'); ws.close() })
    ws.ping('p1')
  })
  let closes = 0
  const closed = new Promise<void>((resolve) => {
    const client = new RawWebSocket({ host: '127.0.0.1', port, path: '/ws', localAddress: '127.0.0.2', handshakeTimeoutMs: 5000 }, {
      open: () => {},
      text: () => {},
      close: () => { closes++; resolve(); client.destroy() }
    })
  })
  await closed
  t.equal(closes, 1)
})

test('the raw client gives up on a refused handshake', async (t) => {
  const { wss, port } = await server(t)
  wss.options.verifyClient = () => false
  const closed = new Promise<boolean>((resolve) => {
    let opened = false
    const client = new RawWebSocket({ host: '127.0.0.1', port, path: '/ws', handshakeTimeoutMs: 5000 }, {
      open: () => { opened = true },
      text: () => {},
      close: () => resolve(opened)
    })
    t.teardown(() => client.destroy())
  })
  t.equal(await closed, false, 'never opened')
})
