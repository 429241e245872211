import { connectWebSocket, type Transport } from '@aip/endpoint'
import { prng } from '@aip/test-support'
import { test } from 'tap'
import { ConstellationEndpoint, type TaskOutcome } from '../src/index.js'
import { SimDevice, TestServer, waitFor } from './helpers.js'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Reconnects a simulated device until its server takes it (the server may be restarting). */
async function revive (device: SimDevice): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      await device.connect()
      return
    } catch {
      await sleep(10)
    }
  }
  throw new Error(`${device.deviceId} could not reconnect`)
}

const TASKS = 300
const ALLOWED = new Set(['completed', 'failed', 'AIP_ERR_CONSTELLATION_TASK_REFUSED', 'AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED',
  'AIP_ERR_CONSTELLATION_TASK_ABORTED', 'AIP_ERR_TIMEOUT'])

test(`${TASKS} tasks over 3 devices on 2 servers with random device drops, network cuts, a server restart and aborts`, async (t) => {
  const seed = Number(process.env.AIP_FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31))
  t.comment(`seed ${seed} (rerun with AIP_FAULT_SEED=${seed})`)
  const random = prng(seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T

  const serverA = await TestServer.start(t)
  const serverB = await TestServer.start(t)
  const devices = [
    await SimDevice.start(t, serverA.wsUrl, 'dev1'),
    await SimDevice.start(t, serverA.wsUrl, 'dev2'),
    await SimDevice.start(t, serverB.wsUrl, 'dev3')
  ]
  const transports = new Map<string, Transport>()
  const constellation = new ConstellationEndpoint({
    taskName: 'chaos',
    taskTimeoutMs: 3000,
    heartbeatIntervalMs: 50,
    reconnectionStrategy: { initialBackoffMs: 10, maxBackoffMs: 100, maxRetries: Infinity, random },
    transportFactory: async (url, options) => {
      const { deviceId, ...connect } = options
      const transport = await connectWebSocket(url, connect)
      transports.set(deviceId, transport)
      transport.on('close', () => { if (transports.get(deviceId) === transport) transports.delete(deviceId) })
      return transport
    }
  })
  t.teardown(() => constellation.stop())
  for (const device of devices) {
    await constellation.connectToDevice({ deviceId: device.deviceId, serverUrl: device.url, maxRetries: Infinity })
  }

  const ends = new Map<string, TaskOutcome[]>()
  constellation.on('taskEnd', ({ taskId, outcome }) => ends.set(taskId, [...(ends.get(taskId) ?? []), outcome]))
  const settledCount = new Map<string, number>()
  const results: Array<Promise<string>> = []
  const faults: string[] = []
  let restarted = false

  for (let i = 0; i < TASKS; i++) {
    const device = pick(devices)
    const taskId = `t${i}`
    const controller = random() < 0.1 ? new AbortController() : undefined
    if (controller !== undefined) setTimeout(() => controller.abort(), Math.floor(random() * 40)).unref()
    const timeoutMs = random() < 0.05 ? 5 + Math.floor(random() * 30) : undefined
    results.push(constellation.sendTaskToDevice(device.deviceId, {
      request: String(Math.floor(random() * 15)),
      taskId,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(controller === undefined ? {} : { signal: controller.signal })
    }).then((end) => end.status, (err: { code?: string }) => err.code ?? String(err)).then((outcome) => {
      settledCount.set(taskId, (settledCount.get(taskId) ?? 0) + 1)
      return outcome
    }))

    const roll = random()
    if (roll < 0.02) {
      const victim = pick(devices)
      faults.push(`device ${victim.deviceId} dropped`)
      victim.kill()
      setTimeout(() => { revive(victim).catch(() => {}) }, 10 + Math.floor(random() * 60)).unref()
    } else if (roll < 0.04) {
      const victim = pick(devices)
      const transport = transports.get(victim.deviceId)
      if (transport !== undefined) {
        faults.push(`constellation connection of ${victim.deviceId} cut`)
        transport.terminate()
      }
    }
    if (!restarted && i === Math.floor(TASKS / 2)) {
      restarted = true
      faults.push('server A restarted')
      await serverA.stop()
      await sleep(Math.floor(random() * 50))
      await serverA.start()
      await Promise.all(devices.filter((d) => d.url === serverA.wsUrl).map((d) => revive(d)))
    }
    await sleep(random() < 0.5 ? 0 : 3)
  }

  const outcomes = await Promise.all(results)
  await sleep(50) // a double settle would show up in the counts by now
  t.comment(`faults: ${faults.length} (${faults.filter((f) => f.includes('dropped')).length} device drops, ${faults.filter((f) => f.includes('cut')).length} cuts, 1 restart)`)
  const tally: Record<string, number> = {}
  for (const outcome of outcomes) tally[outcome] = (tally[outcome] ?? 0) + 1
  t.comment(`outcomes: ${JSON.stringify(tally)}`)

  t.equal(outcomes.length, TASKS, 'every task promise settled')
  t.ok([...settledCount.values()].every((n) => n === 1) && settledCount.size === TASKS, 'each exactly once')
  const unexpected = outcomes.filter((o) => !ALLOWED.has(o))
  t.same(unexpected, [], 'only allowed outcomes')
  t.ok([...ends.values()].every((list) => list.length === 1), 'one taskEnd event per task')
  t.equal(ends.size, TASKS, 'every task reached a fate')
  t.ok((tally.completed ?? 0) > TASKS / 3, 'most tasks still completed')
  for (const snapshot of constellation.listDevices()) {
    t.equal(snapshot.queued, 0, `${snapshot.deviceId}: nothing queued`)
    t.equal(snapshot.running, 0, `${snapshot.deviceId}: nothing running`)
  }

  // Everything recovers: each device connects again and runs a task.
  for (const device of devices) if (!device.connected) await revive(device)
  await waitFor(() => devices.every((d) => constellation.isDeviceConnected(d.deviceId)), 10_000, 'every device reconnected')
  const finals = await Promise.all(devices.map((d) => constellation.sendTaskToDevice(d.deviceId, { request: '1', taskId: `final-${d.deviceId}` })))
  t.ok(finals.every((end) => end.status === 'completed'), 'a task on each device completes after the storm')
})
