import { test } from 'tap'

// From dist, built before the tests run (`tsc -b && tap`), as in connect-warm-up.test.ts.
const scenariosModule = '../dist/scenarios.js'
const controlModule = '../dist/server-control.js'
const { heartbeats } = await import(scenariosModule) as typeof import('../src/scenarios.js')
const { ServerProcess } = await import(controlModule) as typeof import('../src/server-control.js')

// The counted heartbeat scenario relies on this: every HEARTBEAT of the warm-up and of the window is answered, one
// after another, by either server; its figure is per HEARTBEAT answered.
for (const kind of ['baseline', 'real'] as const) {
  test(`heartbeats one at a time are each answered before the next is sent (${kind} server)`, async (t) => {
    const server = await ServerProcess.start(kind)
    t.teardown(() => server.stop())
    const figures = await heartbeats(server, { devices: 3, rate: 1000, count: 12, warmup: 5 })
    t.equal(figures.heartbeats, 12, 'the window counts its own heartbeats only')
    t.ok(Number.isFinite(figures.cpuMicrosPerHeartbeat), 'a CPU figure per heartbeat')
  })
}
