import { test } from 'tap'
import type { Agent, TaskRecord } from '../src/index.js'
import { echoDevice, registeredConstellation, registeredDevice, startServer, type TestClient } from './helpers/harness.js'

const DEVICES = 20
const CONSTELLATIONS = 5
const TASKS_EACH = 2

const twoSteps: Agent = async (task, context) => {
  for (let step = 0; step < 2; step++) {
    await context.execute([{ tool_name: 'echo', parameters: { step, session: task.sessionId }, tool_type: 'action' }])
  }
  return { status: 'completed' }
}

test(`${DEVICES} devices and ${CONSTELLATIONS} constellations run tasks at once; every task ends exactly once`, async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { agent: twoSteps })
  const devices = await Promise.all(Array.from({ length: DEVICES }, (_, d) => registeredDevice(t, wsUrl, `dev${d}`)))
  devices.forEach((device, d) => echoDevice(device, `dev${d}`))
  const records = new Map<string, TaskRecord[]>()
  endpoint.on('taskEnd', (record) => records.set(record.sessionId, [...(records.get(record.sessionId) ?? []), record]))

  const pairs: Array<{ client: TestClient, clientId: string, deviceId: string }> = []
  for (let c = 0; c < CONSTELLATIONS; c++) {
    for (let d = 0; d < DEVICES; d++) {
      const clientId = `galaxy${c}@dev${d}`
      pairs.push({ client: await registeredConstellation(t, wsUrl, clientId, `dev${d}`), clientId, deviceId: `dev${d}` })
    }
  }
  // Every pair sends its tasks back to back, then collects frames until it has seen every TASK_END.
  const ends = await Promise.all(pairs.map(async ({ client, clientId, deviceId }) => {
    const sessions = Array.from({ length: TASKS_EACH }, (_, i) => `${clientId}#${i}`)
    for (const sessionId of sessions) {
      client.send({ type: 'task', status: 'continue', client_type: 'constellation', client_id: clientId, target_id: deviceId, session_id: sessionId, request: 'go' })
    }
    const seen: Array<Record<string, any>> = []
    for (let i = 0; i < TASKS_EACH * 2 && seen.length < TASKS_EACH; i++) {
      const frame = await client.next(20_000)
      if (frame.type === 'task_end') seen.push(frame)
    }
    return seen
  }))
  const all = ends.flat()
  const total = DEVICES * CONSTELLATIONS * TASKS_EACH
  t.equal(all.length, total, 'every requester got its TASK_ENDs')
  t.equal(new Set(all.map((f) => f.session_id)).size, total, 'one TASK_END per session at its requester')
  t.ok(all.every((f) => f.status === 'completed' && f.result.length === 2), 'all completed with two steps')
  t.equal(records.size, total, 'the server ended every session')
  t.ok([...records.values()].every((list) => list.length === 1), 'exactly once')
  t.equal(endpoint.sessionCount, 0, 'nothing left running')
  t.equal(endpoint.options.registry.size, DEVICES + DEVICES * CONSTELLATIONS, 'every client is registered once')
  t.equal(endpoint.listClients().length, endpoint.options.registry.size)
})
