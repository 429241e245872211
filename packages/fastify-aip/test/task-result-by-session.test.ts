import { test } from 'tap'
import type { Agent } from '../src/index.js'
import { API_KEY, buildApp, injectedDevice, until } from './helpers/harness.js'

const headers = { 'x-api-key': API_KEY }
const agent: Agent = async () => ({ status: 'completed', result: 'done' })

test('GET task_result/:name?session_id= reads that very task; by name alone, only tasks dispatched over HTTP', async (t) => {
  const app = await buildApp(t, { apiKey: API_KEY, agent })
  const device = await injectedDevice(t, app, '/ws', 'dev1')
  const ids: string[] = []
  for (let i = 0; i < 2; i++) {
    const reply = await app.inject({ method: 'POST', url: '/api/dispatch', headers, body: { client_id: 'dev1', request: `r${i}`, task_name: 'same' } })
    const sessionId = reply.json().session_id as string
    ids.push(sessionId)
    await until(device, (f) => f.type === 'task' && f.session_id === sessionId)
    device.send({ type: 'task', status: 'continue', client_type: 'device', client_id: 'dev1', session_id: sessionId, task_name: 'same', request: `r${i}` })
    await until(device, (f) => f.type === 'task_end' && f.session_id === sessionId)
  }
  for (const sessionId of ids) {
    const read = await app.inject({ method: 'GET', url: `/api/task_result/same?session_id=${sessionId}`, headers })
    t.match(read.json(), { status: 'done', session_id: sessionId, task_name: 'same' }, 'by its session id')
  }
  t.match((await app.inject({ method: 'GET', url: '/api/task_result/same', headers })).json(), { session_id: ids[1] }, 'by name: the latest dispatch')
  const wrongName = await app.inject({ method: 'GET', url: `/api/task_result/other?session_id=${ids[0] as string}`, headers })
  t.equal(wrongName.statusCode, 404, 'the name must match the session')
  device.send({ type: 'task', status: 'continue', client_type: 'device', client_id: 'dev1', session_id: 'own', task_name: 'mine', request: 'x' })
  await until(device, (f) => f.type === 'task_end' && f.session_id === 'own')
  t.equal((await app.inject({ method: 'GET', url: '/api/task_result/mine', headers })).statusCode, 404, 'a WebSocket task is not found by name')
  t.match((await app.inject({ method: 'GET', url: '/api/task_result/mine?session_id=own', headers })).json(), { status: 'done', session_id: 'own' }, 'but by its session id')
})
