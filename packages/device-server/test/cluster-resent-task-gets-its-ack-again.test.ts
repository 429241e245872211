import { test } from 'tap'
import { TestClient, registeredDevice } from './helpers/harness.js'
import { continuityConstellation, dropConnection } from './helpers/continuity.js'
import { answer, taskFrame, testCluster } from './helpers/cluster.js'

test('a requester that resumes on its node and sends its TASK again gets the ack again, then one TASK_END', async (t) => {
  const cluster = testCluster(t, {}, { resumeWindowMs: 60_000 })
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-1')
  const first = await TestClient.connect(t, b.wsUrl)
  await first.ask(continuityConstellation('galaxy', 'dev-1'))
  t.match(await first.ask(taskFrame('galaxy', 'dev-1', 'r@1')), { type: 'heartbeat', status: 'ok', session_id: 'r@1' }, 'the ack')
  const command = await device.next()
  await dropConnection(b.endpoint, first)
  const second = await TestClient.connect(t, b.wsUrl)
  t.match((await second.ask(continuityConstellation('galaxy', 'dev-1'))).aip, { resumed: true })
  t.match(await second.ask(taskFrame('galaxy', 'dev-1', 'r@1')), { type: 'heartbeat', status: 'ok', session_id: 'r@1' }, 'the ack again')
  device.send(answer('dev-1', command))
  t.match(await second.next(), { type: 'task_end', status: 'completed', session_id: 'r@1' }, 'then the TASK_END, nothing in between')
})
