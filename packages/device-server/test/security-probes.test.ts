import { test } from 'tap'
import type { Agent } from '../src/index.js'
import { registeredConstellation, registeredDevice, startServer, TestClient, until } from './helpers/harness.js'

const oneStep: Agent = async (_task, context) => {
  await context.execute([{ tool_name: 'a', tool_type: 'action' }])
  return { status: 'completed' }
}

test('session squatting: a session id owned by another client is refused, with the reference text', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: oneStep })
  await registeredDevice(t, wsUrl, 'dev')
  const owner = await registeredConstellation(t, wsUrl, 'a@dev', 'dev')
  const squatter = await registeredConstellation(t, wsUrl, 'b@dev', 'dev')
  owner.send({ type: 'task', status: 'continue', client_type: 'constellation', client_id: 'a@dev', target_id: 'dev', session_id: 'a@t1', request: 'x' })
  t.equal((await owner.next()).session_id, 'a@t1')
  const answer = await squatter.ask({ type: 'task', status: 'continue', client_type: 'constellation', client_id: 'b@dev', target_id: 'dev', session_id: 'a@t1', request: 'y', request_id: 'q' })
  t.same([answer.type, answer.error, answer.session_id, answer.response_id], ['error', "session_id 'a@t1' is owned by another client", 'a@t1', 'q'])
  t.equal(endpoint.sessionCount, 1, 'the owner\'s session is untouched')
  squatter.send({ type: 'command_results', status: 'continue', client_type: 'constellation', client_id: 'b@dev', session_id: 'a@t1', prev_response_id: 'x', action_results: [] })
  const next = await squatter.ask({ type: 'heartbeat', status: 'ok', client_type: 'constellation', client_id: 'b@dev' })
  t.equal(next.type, 'heartbeat', 'results forged for a foreign session are dropped, as the reference drops them')
  t.equal(endpoint.sessionCount, 1, 'and change nothing')
})

test('role and identity spoofing: another client id or role on a registered connection is refused', async (t) => {
  const { wsUrl } = await startServer(t, { agent: oneStep })
  const device = await registeredDevice(t, wsUrl, 'dev')
  await registeredDevice(t, wsUrl, 'other')
  const asOther = await device.ask({ type: 'task', status: 'continue', client_id: 'other', request: 'x' })
  t.same([asOther.type, asOther.error], ['error', 'client_id does not match the registered connection'])
  const asConstellation = await device.ask({ type: 'task', status: 'continue', client_type: 'constellation', client_id: 'dev', target_id: 'other', request: 'x' })
  t.same([asConstellation.type, asConstellation.error], ['error', 'client_type does not match the registered connection'])
  const targeting = await device.ask({ type: 'task', status: 'continue', client_id: 'dev', target_id: 'other', request: 'x' })
  t.same([targeting.type, targeting.error], ['error', 'Device clients may not target other devices'])
})

test('a scoped constellation cannot send tasks to, nor read, another device; a constellation cannot target a constellation', async (t) => {
  const { wsUrl } = await startServer(t, { agent: oneStep })
  await registeredDevice(t, wsUrl, 'devA')
  await registeredDevice(t, wsUrl, 'devB')
  const galaxy = await registeredConstellation(t, wsUrl, 'g@devA', 'devA')
  const task = await galaxy.ask({ type: 'task', status: 'continue', client_type: 'constellation', client_id: 'g@devA', target_id: 'devB', request: 'x' })
  t.same([task.type, task.error], ['error', 'Not authorized to send tasks to this device'])
  const onConstellation = await TestClient.connect(t, wsUrl)
  const refused = await onConstellation.ask({ type: 'register', status: 'ok', client_type: 'constellation', client_id: 'h', target_id: 'g@devA' })
  t.same([refused.type, refused.error], ['error', "Target 'g@devA' is not a device"])
  t.equal((await onConstellation.closed).code, 4002)
})

test('task names are sanitised: no path traversal reaches the agent or the device', async (t) => {
  const names: string[] = []
  const agent: Agent = async (task, context) => {
    names.push(task.taskName)
    await context.execute([{ tool_name: 'a', tool_type: 'action' }])
    return { status: 'completed' }
  }
  const { wsUrl, endpoint } = await startServer(t, { agent })
  const device = await registeredDevice(t, wsUrl, 'dev')
  device.send({ type: 'task', status: 'continue', client_id: 'dev', task_name: '../../etc/passwd', request: 'x' })
  const command = (await until(device, (f) => f.type === 'command')).frame
  t.equal(command.task_name, '.._.._etc_passwd')
  t.same(names, ['.._.._etc_passwd'])
  device.send({ type: 'command_results', status: 'continue', client_id: 'dev', session_id: command.session_id, prev_response_id: command.response_id, action_results: [] })
  await until(device, (f) => f.type === 'task_end')
  t.equal(endpoint.getResultByTaskName('../../etc/passwd')?.taskName, '.._.._etc_passwd', 'looked up by the sanitised name')
  const dots = await device.ask({ type: 'task', status: 'continue', client_id: 'dev', task_name: '..', request: 'x' })
  t.equal(dots.type, 'heartbeat', 'accepted')
  t.same(names.at(-1), '__', 'a name of dots only becomes underscores')
})

test('an oversize frame closes only that connection, with 1009', async (t) => {
  const { wsUrl } = await startServer(t, { maxPayloadBytes: 1024 })
  const victim = await registeredDevice(t, wsUrl, 'victim')
  const attacker = await registeredDevice(t, wsUrl, 'attacker')
  attacker.send({ type: 'heartbeat', status: 'ok', client_id: 'attacker', error: 'x'.repeat(4096) })
  t.equal((await attacker.closed).code, 1009)
  t.equal((await victim.ask({ type: 'heartbeat', status: 'ok', client_id: 'victim' })).status, 'ok', 'others keep working')
})
