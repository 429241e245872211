import { test } from 'tap'
import { connect } from '../dist/scenarios.js'
import { ServerProcess } from '../dist/server-control.js'

// From dist: the server process runs the built `server-main.js` beside it.
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
