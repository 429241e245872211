import { test } from 'tap'
import { API_KEY, echoDevice, injectedDevice, until } from './helpers/harness.js'
import { eventually, twoAppsOnRedis } from './helpers/cluster.js'

const headers = { 'x-api-key': API_KEY }

test('two apps on a real Redis: POST /api/dispatch on B runs on the device of A, task_result on B answers, sessions list both nodes', async (t) => {
  const apps = await twoAppsOnRedis(t)
  if (apps === undefined) return
  const { a, b } = apps
  await eventually(() => a.aip.clusterState === 'ready' && b.aip.clusterState === 'ready', 'both nodes ready')
  const device = await injectedDevice(t, a, '/ws', 'dev-a')
  echoDevice(device, 'dev-a')
  await eventually(async () => (await b.aip.listClusterClients()).some((c) => c.clientId === 'dev-a'), 'the device is known to B')

  const reply = await b.inject({ method: 'POST', url: '/api/dispatch', headers, payload: { client_id: 'dev-a', request: 'open notepad', task_name: 'on-redis' } })
  t.equal(reply.statusCode, 200)
  const sessionId = reply.json().session_id as string
  t.match(await until(device, (f) => f.type === 'task_end'), { frame: { status: 'completed', session_id: sessionId } })
  let result: Record<string, any> = {}
  await eventually(async () => {
    result = (await b.inject({ url: `/api/task_result/on-redis?session_id=${sessionId}`, headers })).json()
    return result.status === 'done'
  }, 'the result on B')
  t.match(result, { status: 'done', session_id: sessionId, client_id: 'dev-a', task_status: 'completed' })

  // A held task on each node: B lists both.
  const holdA = await injectedDevice(t, a, '/ws', 'hold-a')
  const holdB = await injectedDevice(t, b, '/ws', 'hold-b')
  for (const [device, id] of [[holdA, 'hold-a'], [holdB, 'hold-b']] as const) {
    await eventually(async () => (await b.aip.listClusterClients()).some((c) => c.clientId === id), `${id} known`)
    const held = await b.aip.tasks.start(id, 'hold')
    // Ended by the app's close: its rejection is expected.
    held.done.catch(() => {})
    const serverTask = await device.next()
    device.send({ type: 'task', status: 'continue', client_type: 'device', client_id: id, session_id: null, task_name: serverTask.task_name, request: serverTask.user_request })
    await until(device, (f) => f.type === 'command')
  }
  const listed = await b.aip.sessions.listClusterWide()
  t.same(listed.map((s) => [s.deviceId, s.nodeId]).sort(), [['hold-a', 'node-a'], ['hold-b', 'node-b']])
})
