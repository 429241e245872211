import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'tap'
import WebSocket, { WebSocketServer } from 'ws'
import { CloseCode, createLinkedTransports, type CloseInfo } from '@aip/endpoint'
import { DeviceServerEndpoint } from '../src/index.js'
import { Texts, authenticate, resolveOptions, safeEqual } from '../src/internal.js'
import { TestClient, deviceRegister, startServer } from './helpers/harness.js'

const TOKEN = 's3cret-token'

test('the ?token= query is checked during the upgrade: none is 401, a wrong one 403, the right one registers', async (t) => {
  const { wsUrl } = await startServer(t, { token: TOKEN })
  t.equal(await TestClient.refusedStatus(wsUrl), 401, 'no token: 401 before any WebSocket exists')
  t.equal(await TestClient.refusedStatus(`${wsUrl}?token=`), 401, 'an empty token counts as none')
  t.equal(await TestClient.refusedStatus(`${wsUrl}?token=wrong`), 403, 'a wrong token: 403')
  t.equal(await TestClient.refusedStatus(`${wsUrl}?token=${TOKEN}x`), 403, 'a longer token that starts with the key: 403')
  const client = await TestClient.connect(t, `${wsUrl}?token=${TOKEN}`)
  const answer = await client.ask(deviceRegister('dev-1'))
  t.match(answer, { type: 'heartbeat', status: 'ok', session_id: null }, 'the right token registers')
})

test('safeEqual compares secrets whatever their lengths, without throwing', async (t) => {
  t.equal(safeEqual('abc', 'abc'), true)
  t.equal(safeEqual('abc', 'abd'), false, 'same length, last character differs')
  t.equal(safeEqual('abc', 'abcd'), false, 'a prefix is not equal (timingSafeEqual alone would throw on lengths)')
  t.equal(safeEqual('', 'x'), false)
  t.equal(safeEqual('', ''), true)
  t.equal(safeEqual('é', 'e\u0301'), false, 'compared as UTF-8 bytes, not normalised')
})

test('authenticate checks every key and tells the bound client id of a per-client key', async (t) => {
  const options = resolveOptions({ token: TOKEN, clientKeys: { devA: 'k1', devB: 'k2' } })
  t.same(authenticate({ url: `/ws?token=${TOKEN}`, headers: {} }, options), { ok: true, boundClientId: null, credential: { kind: 'shared' } })
  t.match(authenticate({ url: '/ws?token=k2', headers: {} }, options), { ok: true, boundClientId: 'devB', credential: { kind: 'client', clientId: 'devB', binding: { clientType: 'device' } } })
  t.match(authenticate({ url: '/ws?token=k3', headers: {} }, options), { ok: false, status: 403 })
  t.match(authenticate({ url: '/ws', headers: {} }, options), { ok: false, status: 401 })
  t.match(authenticate({ url: undefined, headers: {} } as never, options), { ok: false, status: 401 }, 'no URL at all')
  const open = resolveOptions({})
  t.same(authenticate({ url: '/ws', headers: {} }, open), { ok: true, boundClientId: null, credential: { kind: 'open' } }, 'no key configured: anyone')
  const keysOnly = resolveOptions({ clientKeys: { devA: 'k1' } })
  t.match(authenticate({ url: '/ws', headers: {} }, keysOnly), { ok: false, status: 401 }, 'per-client keys alone still require a key')
  t.match(authenticate({ url: '/ws?token=k1', headers: {} }, keysOnly), { ok: true, boundClientId: 'devA' })
})

test('a per-client key registers only as its own client id', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { token: TOKEN, clientKeys: { devA: 'k1' } })
  const intruder = await TestClient.connect(t, `${wsUrl}?token=k1`)
  const refusal = await intruder.ask(deviceRegister('devB'))
  t.match(refusal, { type: 'error', status: 'error', error: Texts.clientIdNotAllowed })
  t.equal(refusal.error, 'client_id is not allowed with the key used to connect')
  t.equal((await intruder.closed).code, CloseCode.RegistrationRefused, 'then closed with 4002')
  t.notOk(endpoint.isConnected('devB'))

  const owner = await TestClient.connect(t, `${wsUrl}?token=k1`)
  t.match(await owner.ask(deviceRegister('devA')), { type: 'heartbeat', status: 'ok' }, 'the key registers as devA')
  t.ok(endpoint.isConnected('devA'))

  const shared = await TestClient.connect(t, `${wsUrl}?token=${TOKEN}`)
  t.match(await shared.ask(deviceRegister('devC')), { type: 'heartbeat', status: 'ok' }, 'the shared key is not bound')
})

test('the Origin allow-list refuses cross-site WebSockets; clients without Origin pass', async (t) => {
  const { wsUrl } = await startServer(t, { token: TOKEN, allowedOrigins: ['https://console.example'] })
  const url = `${wsUrl}?token=${TOKEN}`
  t.equal(await TestClient.refusedStatus(url, { origin: 'https://evil.example' }), 403, 'a disallowed Origin: 403')
  t.equal(await TestClient.refusedStatus(url, { headers: { Origin: 'null' } }), 403, 'an opaque origin: 403')
  t.equal(await TestClient.refusedStatus(`${wsUrl}?token=wrong`, { origin: 'https://console.example' }), 403, 'an allowed Origin does not replace the token')

  const browser = await TestClient.connect(t, url, { origin: 'https://console.example' })
  t.match(await browser.ask(deviceRegister('browser-dev')), { type: 'heartbeat', status: 'ok' }, 'an allowed Origin passes')
  const native = await TestClient.connect(t, url)
  t.match(await native.ask(deviceRegister('python-dev')), { type: 'heartbeat', status: 'ok' }, 'no Origin (Python clients) passes')
})

test('without an Origin allow-list, every browser Origin is refused', async (t) => {
  const { wsUrl } = await startServer(t)
  t.equal(await TestClient.refusedStatus(wsUrl, { origin: 'http://127.0.0.1' }), 403)
  const native = await TestClient.connect(t, wsUrl)
  t.match(await native.ask(deviceRegister('dev')), { type: 'heartbeat', status: 'ok' })
})

test('allowedHosts refuses a foreign Host header and accepts a listed one, case-insensitively', async (t) => {
  const { wsUrl } = await startServer(t, { allowedHosts: ['aip.example', 'aip.example:8443'] })
  t.equal(await TestClient.refusedStatus(wsUrl), 403, 'the Host 127.0.0.1:<port> is not listed')
  t.equal(await TestClient.refusedStatus(wsUrl, { headers: { Host: 'evil.example' } }), 403, 'a foreign Host: 403')
  const listed = await TestClient.connect(t, wsUrl, { headers: { Host: 'AIP.example' } })
  t.match(await listed.ask(deviceRegister('dev-host')), { type: 'heartbeat', status: 'ok' }, 'a listed Host passes')
  const withPort = await TestClient.connect(t, wsUrl, { headers: { Host: 'aip.example:8443' } })
  t.match(await withPort.ask(deviceRegister('dev-port')), { type: 'heartbeat', status: 'ok' }, 'host:port forms are listed as such')
})

test('handleTransport with a refused request closes the transport with 1008', async (t) => {
  const endpoint = new DeviceServerEndpoint({ token: TOKEN, pingIntervalMs: 0 })
  t.teardown(() => endpoint.stop())
  const cases: Array<[string, { url: string, headers: Record<string, string> }]> = [
    ['no token', { url: '/ws', headers: {} }],
    ['wrong token', { url: '/ws?token=nope', headers: {} }],
    ['disallowed Origin', { url: `/ws?token=${TOKEN}`, headers: { origin: 'https://evil.example' } }]
  ]
  for (const [label, request] of cases) {
    const [client, server] = createLinkedTransports()
    const closed = new Promise<CloseInfo>((resolve) => client.on('close', resolve))
    const frames: unknown[] = []
    client.on('message', (data) => frames.push(data))
    endpoint.handleTransport(server, request)
    t.match(await closed, { code: CloseCode.PolicyViolation }, `${label}: 1008`)
    t.same(frames, [], `${label}: no frame is sent`)
  }
  t.equal(endpoint.connectionCount, 0, 'no connection is kept')

  const [client, server] = createLinkedTransports()
  const answer = new Promise<string>((resolve) => client.on('message', (data) => resolve(String(data))))
  endpoint.handleTransport(server, { url: `/ws?token=${TOKEN}`, headers: {} })
  await client.send(JSON.stringify(deviceRegister('mem-dev')))
  t.match(JSON.parse(await answer), { type: 'heartbeat', status: 'ok' }, 'an accepted request registers')
})

test('handleWebSocket checks the upgrade request again and closes a refused socket with 1008', async (t) => {
  const endpoint = new DeviceServerEndpoint({ token: TOKEN, pingIntervalMs: 0 })
  const http = createServer()
  // A framework that upgrades every request itself, then hands the socket over.
  const wss = new WebSocketServer({ server: http })
  wss.on('connection', (socket, request) => endpoint.handleWebSocket(socket, request))
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    await endpoint.stop()
    for (const socket of wss.clients) socket.terminate()
    await new Promise<void>((resolve) => wss.close(() => resolve()))
    http.closeAllConnections()
    await new Promise<void>((resolve) => http.close(() => resolve()))
  })
  const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/ws`

  const refused = await TestClient.connect(t, `${url}?token=wrong`)
  t.equal((await refused.closed).code, CloseCode.PolicyViolation, 'a wrong token: 1008')
  t.same(refused.frames, [], 'nothing was sent before the close')
  const cross = await TestClient.connect(t, `${url}?token=${TOKEN}`, { origin: 'https://evil.example' })
  t.equal((await cross.closed).code, CloseCode.PolicyViolation, 'a disallowed Origin: 1008')

  const accepted = await TestClient.connect(t, `${url}?token=${TOKEN}`)
  t.match(await accepted.ask(deviceRegister('ws-dev')), { type: 'heartbeat', status: 'ok' }, 'an accepted socket registers')
  t.equal(accepted.ws.readyState, WebSocket.OPEN)
})
