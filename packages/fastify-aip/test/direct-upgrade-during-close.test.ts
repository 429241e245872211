import { test } from 'tap'
import type { Agent } from '../src/index.js'
import { buildApp, listen, registeredDevice, TestClient } from './helpers/harness.js'
import { UPGRADE_MODES } from './helpers/upgrade.js'

// Upgrades that arrive while close() waits for a running task are answered 503 by Fastify, whichever way the
// plugin serves its path, and the open sockets are closed with 1001.

for (const upgrade of UPGRADE_MODES) {
  test(`with upgrade "${upgrade}", an upgrade while close() waits is refused with 503`, async (t) => {
    let release!: () => void
    let started!: () => void
    const running = new Promise<void>((resolve) => { started = resolve })
    const stubborn: Agent = async () => {
      started()
      await new Promise<void>((resolve) => { release = resolve })
      return { status: 'completed' }
    }
    const app = await buildApp(t, { agent: stubborn, upgrade })
    const { ws } = await listen(app)
    const device = await registeredDevice(t, `${ws}/ws`, 'late-dev')
    device.send({ type: 'task', status: 'continue', client_type: 'device', client_id: 'late-dev', request: 'x' })
    await running
    const upgradesOff = new Promise<void>((resolve) => {
      const removed = (event: string | symbol): void => {
        if (event !== 'upgrade' || app.server.listenerCount('upgrade') > 0) return
        app.server.off('removeListener', removed)
        resolve()
      }
      app.server.on('removeListener', removed)
    })
    let closed = false
    const closing = app.close().then(() => { closed = true })
    // On close the upgrade listeners leave first (@fastify/websocket's, the plugin's), then close() waits for the agent.
    await upgradesOff
    t.equal(await TestClient.refusedStatus(`${ws}/ws`), 503, 'refused while closing')
    t.notOk(closed, 'close() was still waiting')
    release()
    await closing
    t.equal((await device.closed).code, 1001)
  })
}
