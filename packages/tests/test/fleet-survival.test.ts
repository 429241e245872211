import { performance } from 'node:perf_hooks'
import tap, { test } from 'tap'
import { ConstellationProcess, freePort, startDevice, startLibraryDevice, startServe, type Observed } from '../src/fleet/processes.js'
import { FaultProxy } from '../src/proxy.js'

const TOKEN = 'fleet-token'
const ECHO = 'echo {"n":1}'

/** Index of the next value of each process: waits after an event only look at what came after it. */
function marks (processes: Iterable<Observed>): Map<Observed, number> {
  return new Map([...processes].map((p) => [p, p.values.length]))
}

async function allRegistered (devices: Map<string, Observed>, since: Map<Observed, number>, timeoutMs: number): Promise<void> {
  await Promise.all([...devices.values()].map((d) => d.waitFor((v) => v.state === 'registered', timeoutMs, 'registration', since.get(d) ?? 0)))
}

// Five real processes with the default backoffs and resume window: about 50 s on a quiet machine. On a loaded 2-core
// one (CI runs several packages' tests at once) starting five node processes alone can take half a minute. Every wait
// is for an event, so a generous deadline per phase costs nothing when all goes well; the file has room for them.
const PHASE_MS = 90_000
tap.setTimeout(600_000)

// Once every phase has passed and the event loop is empty, this process has been seen to spin at 100 % CPU without
// end in Node's own exit-time clean-up (FreeEnvironment → CleanupHandles, waiting for a request of a closed handle
// that never completes), until tap's file timeout killed it. The same symptom is reported against Node 16 to 20
// itself (nodejs/node#47748, "Infinite loop at shutdown", seen about once in ten runs with no reproducer): it is the
// runtime's, not this project's code. Exit as soon as the loop is empty: the 'exit' listeners (tap's report) still
// run, and the clean-up is skipped.
process.once('beforeExit', () => { process.exit() })

test('real aip device processes and a constellation program survive a server SIGKILL, cut links and a device crash', async (t) => {
  let phaseStart = performance.now()
  // Each phase's duration, on stderr too: a run stopped by the file's timeout still shows how far it got.
  const phase = (name: string): void => {
    const line = `${name}: ${Math.round(performance.now() - phaseStart)} ms`
    t.comment(line)
    process.stderr.write(`fleet-survival: ${line}\n`)
    phaseStart = performance.now()
  }
  const port = await freePort()
  let serve = await startServe(port, TOKEN)
  t.teardown(() => serve.kill())
  const proxy = await FaultProxy.start(() => port)
  t.teardown(() => proxy.close())
  const url = `ws://127.0.0.1:${proxy.port}/ws?token=${TOKEN}`

  const devices = new Map<string, Observed>()
  for (const id of ['d1', 'd2', 'd3']) devices.set(id, startDevice(id, url))
  devices.set('lib1', startLibraryDevice('lib1', url))
  t.teardown(async () => { for (const device of devices.values()) await device.kill() })
  const ids = [...devices.keys()]
  await allRegistered(devices, new Map(), PHASE_MS)

  const constellation = ConstellationProcess.start(url, ids)
  t.teardown(() => constellation.kill())
  await Promise.all(ids.map((id) => constellation.waitFor((v) => v.type === 'connected' && v.deviceId === id, PHASE_MS, `${id} connected`)))
  phase('start and register')
  for (const id of ids) t.equal((await constellation.task(id, ECHO)).outcome, 'completed', `a task on ${id} completes`)
  phase('first tasks')

  // 1. The server dies with tasks in flight.
  const inFlight = ['d1', 'd2'].map((id) => constellation.task(id, 'sleep {"ms":20000}', 60_000))
  await Promise.all(['d1', 'd2'].map((id) => constellation.waitFor((v) => v.type === 'state' && v.deviceId === id && v.to === 'busy', PHASE_MS, `${id} busy`)))
  let since = marks(devices.values())
  phase('tasks in flight')
  await serve.kill()
  for (const outcome of await Promise.all(inFlight)) {
    t.match(outcome, { outcome: 'rejected', code: 'AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED', ends: 1 }, 'a task in flight fails once, as a disconnection')
  }
  phase('tasks in flight rejected')
  // Each device waits out a backoff and fails again while the server is gone: a process that could exit has.
  await Promise.all([...devices.values()].map((d) => d.waitFor((v) => v.state === 'reconnecting' && Number(v.attempt) >= 2, PHASE_MS, 'a second attempt', since.get(d))))
  for (const [id, device] of devices) t.ok(device.alive, `${id} is still running without its server`)
  t.ok(constellation.alive, 'the constellation program is still running')
  phase('server down, second attempts')

  // 2. The server comes back on the same port.
  since = marks(devices.values())
  const restarted = performance.now()
  serve = await startServe(port, TOKEN)
  await allRegistered(devices, since, PHASE_MS)
  t.comment(`every device registered again ${Math.round(performance.now() - restarted)} ms after the restart`)
  await constellation.allConnected(ids, PHASE_MS)
  phase('restart, all connected again')
  for (const id of ids) t.equal((await constellation.task(id, ECHO)).outcome, 'completed', `after the restart, a task on ${id} completes`)
  phase('tasks after the restart')

  // 3. Every link is cut (RST both ways, no close frame).
  since = marks(devices.values())
  for (const connection of proxy.live()) connection.cut()
  await allRegistered(devices, since, PHASE_MS)
  await constellation.allConnected(ids, PHASE_MS)
  phase('cut, all connected again')
  for (const id of ids) t.equal((await constellation.task(id, ECHO)).outcome, 'completed', `after the cut, a task on ${id} completes`)
  phase('tasks after the cut')

  // 4. A device process is killed and started again.
  await devices.get('d2')?.kill()
  const d2 = startDevice('d2', url)
  devices.set('d2', d2)
  await d2.waitFor((v) => v.state === 'registered', PHASE_MS, 'registration')
  t.equal((await constellation.task('d2', ECHO)).outcome, 'completed', 'a restarted device takes tasks again')
  phase('device restart and a task')

  t.same(constellation.values.filter((v) => v.type === 'duplicate'), [], 'no task ended twice')
  t.same(constellation.values.filter((v) => v.type === 'state' && v.to === 'failed'), [], 'no device was given up')
  for (const [id, device] of devices) {
    t.notOk(device.values.some((v) => v.state === 'stopped'), `${id} never stopped`)
    t.ok(device.alive, `${id} still runs`)
  }
})
