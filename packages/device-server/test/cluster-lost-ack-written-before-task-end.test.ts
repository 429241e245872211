import { test } from 'tap'
import { answer, taskFrame, taskWithLostAck } from './helpers/cluster.js'

test('an ack lost on its way is written to the requester right before its TASK_END, once', async (t) => {
  const { cluster, device, galaxy, command } = await taskWithLostAck(t, 'l@1')
  t.match(command, { type: 'command', session_id: 'l@1' }, 'the task runs on A; its ack is lost')
  cluster.hub.setNoticesLost(false)
  device.send(answer('dev-1', command))
  t.match(await galaxy.next(), { type: 'heartbeat', status: 'ok', session_id: 'l@1' }, 'the ack first')
  t.match(await galaxy.next(), { type: 'task_end', status: 'completed', session_id: 'l@1' }, 'then the TASK_END')
  // The next task's ack crosses as a notice again: nothing of the first one comes in between.
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-1', 'l@2')), { type: 'heartbeat', session_id: 'l@2' })
})
