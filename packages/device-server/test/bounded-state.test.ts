import { test } from 'tap'
import { createLinkedTransports, type Transport } from '@aip/endpoint'
import { buildDeviceRegistration, buildTaskRequest, encodeClientMessage } from '@aip/protocol'
import { DeviceServerEndpoint, InMemoryResultStore, type TaskRecord } from '../src/index.js'

const TASKS = 10_000
const MAX_RESULTS = 100
const IN_FLIGHT = 100

/** A device on an in-memory transport: answers every COMMAND with success Results, resolves TASK_ENDs by session. */
class MemoryDevice {
  readonly transport: Transport
  readonly clientId: string
  readonly #ends = new Map<string, (frame: Record<string, any>) => void>()
  #onRegistered: ((frame: Record<string, any>) => void) | null = null

  constructor (endpoint: DeviceServerEndpoint, clientId: string) {
    const [client, server] = createLinkedTransports()
    this.transport = client
    this.clientId = clientId
    client.on('message', (data) => this.#onFrame(JSON.parse(String(data)) as Record<string, any>))
    endpoint.handleTransport(server)
  }

  async register (): Promise<Record<string, any>> {
    const answer = new Promise<Record<string, any>>((resolve) => { this.#onRegistered = resolve })
    await this.transport.send(JSON.stringify({ type: 'register', status: 'ok', client_type: 'device', client_id: this.clientId }))
    return await answer
  }

  /** Sends its own TASK and resolves with its TASK_END. */
  async task (sessionId: string): Promise<Record<string, any>> {
    const end = new Promise<Record<string, any>>((resolve) => this.#ends.set(sessionId, resolve))
    await this.transport.send(JSON.stringify({
      type: 'task', status: 'continue', client_type: 'device', client_id: this.clientId, session_id: sessionId, request: 'collect'
    }))
    return await end
  }

  #onFrame (frame: Record<string, any>): void {
    if (this.#onRegistered !== null) {
      this.#onRegistered(frame)
      this.#onRegistered = null
      return
    }
    if (frame.type === 'command') {
      this.transport.send(JSON.stringify({
        type: 'command_results',
        status: 'continue',
        client_type: 'device',
        client_id: this.clientId,
        session_id: frame.session_id,
        prev_response_id: frame.response_id,
        action_results: frame.actions.map((action: any) => ({ status: 'success', result: { tools: [] }, call_id: action.call_id }))
      })).catch(() => {})
    } else if (frame.type === 'task_end' || frame.type === 'error') {
      const resolve = this.#ends.get(frame.session_id)
      this.#ends.delete(frame.session_id)
      resolve?.(frame)
    }
  }
}

test(`${TASKS} completed tasks leave at most maxResults records and no session`, async (t) => {
  const endpoint = new DeviceServerEndpoint({ maxResults: MAX_RESULTS, pingIntervalMs: 0 })
  t.teardown(() => endpoint.stop())
  const device = new MemoryDevice(endpoint, 'bulk-dev')
  t.match(await device.register(), { type: 'heartbeat', status: 'ok' })

  const statuses = new Map<string, number>()
  let next = 0
  // IN_FLIGHT workers, each running its share of the tasks one after another.
  const worker = async (): Promise<void> => {
    while (next < TASKS) {
      const sessionId = `bulk@${next++}`
      const end = await device.task(sessionId)
      const key = `${String(end.type)} ${String(end.status)}`
      statuses.set(key, (statuses.get(key) ?? 0) + 1)
    }
  }
  const started = Date.now()
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
  t.comment(`${TASKS} tasks in ${Date.now() - started} ms`)

  t.same(Object.fromEntries(statuses), { 'task_end completed': TASKS }, 'every task completed')
  t.equal(endpoint.options.results.size, MAX_RESULTS, 'the result store holds maxResults records')
  t.equal(endpoint.sessionCount, 0, 'no session is left')
  t.equal(endpoint.connectionCount, 1)
  t.equal(endpoint.getResult('bulk@0'), undefined, 'the oldest result is gone')
  t.equal(endpoint.getResult(`bulk@${TASKS - MAX_RESULTS - 1}`), undefined, 'the last evicted one too')
  t.match(endpoint.getResult(`bulk@${TASKS - MAX_RESULTS}`), { status: 'completed' }, 'the oldest one kept is readable')
  const newest = endpoint.getResult(`bulk@${TASKS - 1}`)
  t.match(newest, { sessionId: `bulk@${TASKS - 1}`, status: 'completed', requesterId: 'bulk-dev', deviceId: 'bulk-dev', request: 'collect', error: null })
  t.match(newest?.result, [{ request: 'collect', result: [{ status: 'success' }] }], 'with its steps')
  t.match(endpoint.getResultByTaskName(`bulk@${TASKS - 1}`), { sessionId: `bulk@${TASKS - 1}` }, 'readable by task name')
  t.equal(endpoint.getResultByTaskName('bulk@0'), undefined)
})

function record (sessionId: string, endedAt: number, taskName = sessionId, sizeBytes = 100): TaskRecord {
  return {
    sessionId,
    taskName,
    requesterId: 'r',
    deviceId: 'd',
    request: 'x',
    status: 'completed',
    error: null,
    result: null,
    startedAt: endedAt - 1,
    endedAt,
    sizeBytes
  }
}

test('InMemoryResultStore keeps the bytes of its records under maxBytes, dropping the oldest', async (t) => {
  const store = new InMemoryResultStore({ maxRecords: 1000, ttlMs: 60_000, maxBytes: 1000, now: () => 0 })
  for (let i = 0; i < 10; i++) store.put(record(`s${i}`, 0, `s${i}`, 300))
  t.equal(store.size, 3, 'three records of 300 bytes fit in 1000')
  t.equal(store.bytes, 900)
  t.equal(store.getBySession('s6'), undefined)
  t.ok(store.getBySession('s9'))
  store.put(record('s9', 0, 's9', 50))
  t.equal(store.bytes, 650, 'a record put again replaces the size of the old one')
})

test('a task whose huge request or result would exceed maxResultBytes pushes the oldest results out', async (t) => {
  const endpoint = new DeviceServerEndpoint({ maxResultBytes: 100_000, agent: async () => ({ status: 'completed', result: 'r'.repeat(30_000) }) })
  t.teardown(() => endpoint.stop())
  const [client, server] = createLinkedTransports()
  endpoint.handleTransport(server)
  await client.send(encodeClientMessage(buildDeviceRegistration({ clientId: 'dev' })))
  const ended = new Promise<void>((resolve) => {
    let count = 0
    endpoint.on('taskEnd', () => { if (++count === 10) resolve() })
  })
  for (let i = 0; i < 10; i++) await client.send(encodeClientMessage(buildTaskRequest({ clientId: 'dev', clientType: 'device', sessionId: `big${i}`, request: 'go' })))
  await ended
  const store = endpoint.options.results as InMemoryResultStore
  t.ok(store.bytes <= 100_000, `${store.bytes} bytes kept`)
  t.equal(store.size, 3)
  t.ok(endpoint.getResult('big9'))
})

test('InMemoryResultStore drops records older than ttlMs, by the injected clock', async (t) => {
  let now = 1_000
  const store = new InMemoryResultStore({ maxRecords: 10, ttlMs: 100, now: () => now })
  store.put(record('a', 1_000))
  now = 1_050
  store.put(record('b', 1_050))
  t.equal(store.getBySession('a')?.sessionId, 'a', 'a is 50 ms old: kept')
  now = 1_100
  t.equal(store.getBySession('a')?.sessionId, 'a', 'exactly ttlMs old: still kept')
  now = 1_101
  t.equal(store.getBySession('a'), undefined, 'a is older than ttlMs: dropped on read')
  t.equal(store.getByTaskName('a'), undefined, 'from the task-name index as well')
  t.equal(store.getBySession('b')?.sessionId, 'b')
  t.equal(store.size, 1)
  now = 1_151
  t.equal(store.getByTaskName('b'), undefined)
  t.equal(store.size, 0, 'everything expired')
  t.equal(store.getByTaskName('a'), undefined, 'and no task name finds anything')
})

test('InMemoryResultStore keeps the newest maxRecords and the latest record of each task name', async (t) => {
  let now = 0
  const store = new InMemoryResultStore({ maxRecords: 3, ttlMs: 1_000, now: () => now })
  for (let i = 0; i < 5; i++) store.put(record(`s${i}`, now++, i % 2 === 0 ? 'even' : 'odd'))
  t.equal(store.size, 3)
  t.same(['s0', 's1', 's2', 's3', 's4'].map((id) => store.getBySession(id)?.sessionId ?? null), [null, null, 's2', 's3', 's4'])
  t.equal(store.getByTaskName('even')?.sessionId, 's4', 'the latest record of a name')
  t.equal(store.getByTaskName('odd')?.sessionId, 's3')
  store.put(record('s2', now++, 'even'))
  t.equal(store.size, 3, 'putting a session again replaces it')
  t.equal(store.getBySession('s2')?.endedAt, 5)
  t.equal(store.getByTaskName('even')?.sessionId, 's2')
  store.clear()
  t.equal(store.size, 0)
  t.equal(store.getByTaskName('even'), undefined, 'clear empties the task-name lookup too')
})

test('the server evicts expired results by its own clock', async (t) => {
  let now = 10_000
  const endpoint = new DeviceServerEndpoint({ resultTtlMs: 1_000, now: () => now, pingIntervalMs: 0 })
  t.teardown(() => endpoint.stop())
  const device = new MemoryDevice(endpoint, 'ttl-dev')
  await device.register()
  t.match(await device.task('ttl@1'), { type: 'task_end', status: 'completed' })
  t.match(endpoint.getResult('ttl@1'), { status: 'completed', endedAt: 10_000 })
  now += 1_001
  t.equal(endpoint.getResult('ttl@1'), undefined, 'gone after resultTtlMs')
  t.equal(endpoint.options.results.size, 0)
})
