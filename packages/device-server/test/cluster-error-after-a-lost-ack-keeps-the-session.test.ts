import { test } from 'tap'
import { Texts } from '../src/internal.js'
import { answer, taskFrame, taskWithLostAck } from './helpers/cluster.js'

test('an ERROR after a lost ack: the ack is written before it, and the session goes on to its TASK_END', async (t) => {
  const { b, device, galaxy, command } = await taskWithLostAck(t, 'e@1')
  t.match(command, { type: 'command', session_id: 'e@1' }, 'the task runs on A; its ack is lost')
  // The same TASK again: A refuses it (the session runs) with an ERROR made after the ack.
  galaxy.send(taskFrame('galaxy', 'dev-1', 'e@1'))
  t.match(await galaxy.next(), { type: 'heartbeat', status: 'ok', session_id: 'e@1' }, 'the ack first')
  t.match(await galaxy.next(), { type: 'error', error: Texts.sessionRunning('e@1'), session_id: 'e@1' }, 'then the ERROR')
  t.same((await b.endpoint.listClusterSessions()).map((s) => s.sessionId), ['e@1'], 'the session still runs')
  device.send(answer('dev-1', command))
  t.match(await galaxy.next(), { type: 'task_end', status: 'completed', session_id: 'e@1' }, 'its TASK_END reaches the requester')
})
