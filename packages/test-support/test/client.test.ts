import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { WebSocketServer, type WebSocket } from 'ws'
import {
  TestClient, constellationRegister, deviceRegister, echoDevice, registered, registeredConstellation, registeredDevice, until,
  type Teardown
} from '../src/index.js'

/** A scripted peer on 127.0.0.1: `onFrame` answers each frame the client sends; upgrades without `?ok` are refused. */
async function peer (t: Teardown, onFrame: (socket: WebSocket, frame: Record<string, any>) => void): Promise<string> {
  const http = createServer()
  const wss = new WebSocketServer({ noServer: true })
  http.on('upgrade', (req, socket, head) => {
    if (req.url?.includes('ok') !== true) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data) => onFrame(ws, JSON.parse(String(data)) as Record<string, any>))
    })
  })
  http.listen(0, '127.0.0.1')
  await once(http, 'listening')
  t.teardown(() => new Promise<void>((resolve) => {
    for (const ws of wss.clients) ws.terminate()
    http.close(() => resolve())
  }))
  return `ws://127.0.0.1:${(http.address() as AddressInfo).port}`
}

const confirm = (socket: WebSocket, frame: Record<string, any>): void => {
  if (frame.type === 'register') socket.send(JSON.stringify({ type: 'heartbeat', status: frame.client_id === 'refused' ? 'error' : 'ok' }))
}

t.test('register frames carry the essentials of the Python clients', async (t) => {
  t.same(deviceRegister('d1', { target_id: 'x' }), { type: 'register', status: 'ok', client_type: 'device', client_id: 'd1', metadata: { platform: 'windows' }, target_id: 'x' })
  t.same(constellationRegister('c1', 'd1'), { type: 'register', status: 'ok', client_type: 'constellation', client_id: 'c1', target_id: 'd1' })
})

t.test('a registered client is returned after the HEARTBEAT ok; a refusal throws with the answer', async (t) => {
  const seen: Array<Record<string, any>> = []
  const url = await peer(t, (socket, frame) => { seen.push(frame); confirm(socket, frame) })
  await registeredDevice(t, `${url}/?ok`, 'dev')
  await registeredConstellation(t, `${url}/?ok`, 'galaxy', 'dev')
  t.same(seen.map((f) => [f.client_type, f.client_id]), [['device', 'dev'], ['constellation', 'galaxy']])
  const client = await TestClient.connect(t, `${url}/?ok`)
  await t.rejects(registered(client, deviceRegister('refused')), /registration of refused failed: \{"type":"heartbeat","status":"error"\}/)
})

t.test('frames are taken in order, text that is not JSON as is; next() gives up after its timeout', async (t) => {
  const url = await peer(t, (socket) => {
    socket.send('{"n":1}')
    socket.send('not json')
    socket.send(Buffer.from('{"binary":true}'), { binary: true })
  })
  const client = await TestClient.connect(t, `${url}/?ok`)
  t.same(await client.ask({ hello: 1 }), { n: 1 })
  t.equal(await client.next(), 'not json')
  t.equal(await client.next(), '{"binary":true}', 'a binary frame is kept as text')
  await t.rejects(client.next(20), /no frame within 20 ms/)
  client.ws.close(4000, 'bye')
  t.same(await client.closed, { code: 4000, reason: 'bye' })
})

t.test('refusedStatus resolves with the HTTP status of a refused upgrade, and rejects when it is accepted', async (t) => {
  const url = await peer(t, () => {})
  t.equal(await TestClient.refusedStatus(`${url}/`), 403)
  await t.rejects(TestClient.refusedStatus(`${url}/?ok`), /the upgrade was accepted/)
})

t.test('echoDevice answers each COMMAND with one success per action, and a server TASK only when asked', async (t) => {
  const answers: Array<Record<string, any>> = []
  const url = await peer(t, (socket, frame) => {
    confirm(socket, frame)
    if (frame.type === 'register') {
      socket.send(JSON.stringify({ type: 'task', status: 'continue', task_name: 'job', user_request: 'do it', session_id: 's0' }))
      socket.send(JSON.stringify({ type: 'command', status: 'continue', session_id: 's1', response_id: 'r1', actions: [{ tool_name: 'echo', parameters: { x: 1 }, call_id: 'c1' }] }))
      return
    }
    answers.push(frame)
    if (answers.length === 2) socket.send(JSON.stringify({ type: 'task_end', status: 'completed', session_id: 's1' }))
  })
  const device = await TestClient.connect(t, `${url}/?ok`)
  echoDevice(device, 'dev', { answerServerTasks: true })
  await registered(device, deviceRegister('dev'))
  const { frame, skipped } = await until(device, (f) => f.type === 'task_end')
  t.same(skipped.map((f) => f.type), ['task', 'command'], 'the frames still reach next()')
  t.equal(frame.session_id, 's1')
  t.same(answers, [
    { type: 'task', status: 'continue', client_type: 'device', client_id: 'dev', session_id: null, task_name: 'job', request: 'do it' },
    {
      type: 'command_results',
      status: 'continue',
      client_type: 'device',
      client_id: 'dev',
      session_id: 's1',
      prev_response_id: 'r1',
      action_results: [{ status: 'success', error: null, result: { echo: 'echo', params: { x: 1 } }, namespace: 'stub', call_id: 'c1' }]
    }
  ])

  const quiet: string[] = []
  const url2 = await peer(t, (socket, frame) => {
    quiet.push(frame.type)
    if (frame.type === 'ping') socket.send(JSON.stringify({ type: 'task', status: 'continue', session_id: 's2' }))
    if (frame.type === 'done') socket.send('{"type":"last"}')
  })
  const plain = await TestClient.connect(t, `${url2}/?ok`)
  echoDevice(plain, 'dev2')
  plain.send({ type: 'ping' })
  t.match(await plain.next(), { type: 'task' })
  plain.send({ type: 'done' })
  t.same(await plain.next(), { type: 'last' })
  t.same(quiet, ['ping', 'done'], 'a server TASK is left to the test by default')
})

t.test('until gives up after its limit', async (t) => {
  const url = await peer(t, (socket) => { for (let i = 0; i < 3; i++) socket.send(JSON.stringify({ i })) })
  const client = await TestClient.connect(t, `${url}/?ok`)
  client.send({ go: true })
  await t.rejects(until(client, () => false, 3), /no matching frame among 3/)
})
