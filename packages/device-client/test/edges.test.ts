import { test } from 'tap'
import { silentLogger } from '@aip/resilience'
import { ToolRegistry } from '../src/index.js'
import { client, nextEvent, serverFrame, startProxy, startScripted, startServer } from './helpers/net.js'

test('server ERRORs, invalid frames and refused dispatched tasks are reported, never fatal', async (t) => {
  const warnings: string[] = []
  const logger = { ...silentLogger, warn: (_obj: object, msg?: string) => { warnings.push(msg ?? '') } }
  const scripted = await startScripted(t)
  const device = client(t, { wsUrl: scripted.wsUrl, clientId: 'dev1', logger })
  const started = device.start()
  const peer = await scripted.connection()
  await peer.next()
  peer.send(serverFrame({ type: 'heartbeat', status: 'ok' }))
  await started

  const serverError = nextEvent(device, 'serverError')
  peer.send(serverFrame({ type: 'error', status: 'error', error: 'client_id does not match the registered connection' }))
  t.same(await serverError, { error: 'client_id does not match the registered connection', sessionId: null })

  peer.send('not json')
  const failed = nextEvent(device, 'error')
  peer.send(serverFrame({ type: 'task', status: 'continue', user_request: 'x', task_name: 't', session_id: 'S' }))
  await peer.next((f) => f.type === 'task')
  peer.send(serverFrame({ type: 'error', status: 'error', error: 'session_id \'S\' is owned by another client', session_id: 'S' }))
  const reported = await failed
  t.equal(reported.context, 'serverTask')
  t.equal((reported.error as { code?: string }).code, 'AIP_ERR_ENDPOINT_REQUEST_REFUSED')
  t.ok(warnings.includes('invalid frame from the server'))
  t.equal(device.status.kind, 'registered')

  device.cancelDeviceTasks('dev1', 'device_disconnected')
  t.equal(await device.reconnectDevice('someone-else'), false, 'the hook only reconnects this device')
})

test('stop() terminates a peer that never completes the close handshake', async (t) => {
  const server = await startServer(t)
  const proxy = await startProxy(t, server.port)
  const device = client(t, { wsUrl: `ws://127.0.0.1:${proxy.port}/ws`, clientId: 'dev1', deadAfterMs: 60_000 })
  await device.start()
  proxy.stall()
  const before = performance.now()
  await device.stop()
  const waited = performance.now() - before
  t.ok(waited >= 1900 && waited < 4000, `waited ${Math.round(waited)} ms for the close, then terminated`)
  t.same(device.status, { kind: 'stopped', reason: 'stopped' })
  await device.stop()
  t.pass('stop() twice is harmless')
})

test('a tool that throws nothing useful fails with Unknown error', async (t) => {
  const registry = new ToolRegistry({ odd: { handler: () => { throw undefined } } }, { namespace: 'ns', timeoutMs: 1000, earlyExit: true }) // eslint-disable-line no-throw-literal
  const [result] = await registry.execute([{ tool_name: 'odd', parameters: null, tool_type: 'action', call_id: '1' }],
    { sessionId: null, clientId: 'd', signal: new AbortController().signal, logger: silentLogger })
  t.equal(result?.error, 'Unknown error')
})
