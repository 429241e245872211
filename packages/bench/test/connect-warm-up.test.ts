import { test } from 'tap'

// From dist, built before the tests run (`tsc -b && tap`): the server process starts the built `server-main.js`
// beside the module. Named by variables so that a typecheck before any build does not look for them.
const scenariosModule = '../dist/scenarios.js'
const controlModule = '../dist/server-control.js'
const { connect } = await import(scenariosModule) as typeof import('../src/scenarios.js')
const { ServerProcess } = await import(controlModule) as typeof import('../src/server-control.js')

// The counted connect scenarios rely on this: the warm-up devices are gone before the window, so the window's
// figures (instructions, heap per device) are the measured devices' alone.
for (const kind of ['baseline', 'real'] as const) {
  test(`connect with warm-up devices measures only the devices after them (${kind} server)`, async (t) => {
    const server = await ServerProcess.start(kind)
    t.teardown(() => server.stop())
    const figures = await connect(server, { devices: 5, concurrency: 1, warmupDevices: 7 })
    t.equal(figures.registered, 5, 'only the measured devices are registered at the end of the window')
  })
}
