import { test } from 'tap'
import type { Agent, AgentOutcome } from '../src/index.js'
import { echoDevice, registeredDevice, startServer, until, type TestClient } from './helpers/harness.js'

// The task runner follows what the agent returns as `await` would: a promise, a thenable or a plain outcome; an
// agent that throws before returning anything fails its task like one whose promise rejects.

async function runTask (client: TestClient, sessionId: string): Promise<Record<string, any>> {
  client.send({ type: 'task', status: 'continue', client_id: 'dev', session_id: sessionId, request: 'go' })
  return (await until(client, (f) => f.type === 'task_end')).frame
}

test('an agent that returns a plain outcome or a thenable ends its task with it', async (t) => {
  let agent: (context: Parameters<Agent>[1]) => unknown = () => ({ status: 'completed', result: 'plain' })
  const { wsUrl, endpoint } = await startServer(t, { agent: ((_task, context) => agent(context)) as Agent })
  const device = await registeredDevice(t, wsUrl, 'dev')
  echoDevice(device, 'dev')
  const plain = await runTask(device, 's1')
  t.same([plain.status, plain.result], ['completed', 'plain'])
  agent = (context) => ({
    then (resolve: (outcome: AgentOutcome) => void, reject: (err: unknown) => void) {
      context.execute([{ tool_name: 'a', tool_type: 'action' }]).then((results) => { resolve({ status: 'completed', result: results.length }) }, reject)
    }
  })
  const thenable = await runTask(device, 's2')
  t.same([thenable.status, thenable.result], ['completed', 1])
  t.equal(endpoint.sessionCount, 0)
})

test('an agent that throws before returning fails its task with the generic text, and the server goes on', async (t) => {
  let agent: Agent = () => { throw new Error('secret internal path /etc/x') }
  const { wsUrl, endpoint } = await startServer(t, { agent: (task, context) => agent(task, context) })
  const device = await registeredDevice(t, wsUrl, 'dev')
  const thrown = await runTask(device, 's1')
  t.same([thrown.status, thrown.error], ['failed', 'The agent failed while running the task'])
  agent = async () => ({ status: 'completed' })
  t.equal((await runTask(device, 's2')).status, 'completed')
  t.equal(endpoint.sessionCount, 0)
})

test('an outcome without a status fails the task; an execute on a cancelled task rejects, it does not throw', async (t) => {
  let agent: Agent = async () => ({ done: true }) as unknown as AgentOutcome
  const { wsUrl, endpoint } = await startServer(t, { agent: (task, context) => agent(task, context) })
  const device = await registeredDevice(t, wsUrl, 'dev')
  const shapeless = await runTask(device, 's1')
  t.same([shapeless.status, shapeless.error], ['failed', 'The agent failed while running the task'])
  let returned: Promise<unknown> | null = null
  agent = async (_task, context) => {
    endpoint.cancelDeviceTasks('dev', 'cancelled')
    returned = context.execute([{ tool_name: 'a', tool_type: 'action' }])
    await returned
    return { status: 'completed' }
  }
  const cancelled = await runTask(device, 's2')
  t.same([cancelled.status, cancelled.error], ['failed', 'Task was cancelled: cancelled'])
  t.ok(returned !== null, 'execute returned a promise')
  t.equal(endpoint.sessionCount, 0)
})
