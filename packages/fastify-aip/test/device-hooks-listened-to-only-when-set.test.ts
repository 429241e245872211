import { test } from 'tap'
import { buildApp } from './helpers/harness.js'

// The plugin listens to the endpoint's registration and disconnection events only for a hook it has to call: an
// app without `onDeviceRegistered` / `onDeviceDisconnected` runs no listener of the plugin per registration.

type Counted = { events: { listenerCount: (event: string) => number } }

test('without device hooks the plugin adds no registration or disconnection listener; with them, one each', async (t) => {
  const plain = (await buildApp(t)).aip as unknown as Counted
  const hooked = (await buildApp(t, { onDeviceRegistered: () => {}, onDeviceDisconnected: () => {} })).aip as unknown as Counted
  for (const event of ['clientRegistered', 'clientDisconnected']) {
    t.equal(hooked.events.listenerCount(event), plain.events.listenerCount(event) + 1, `one listener of ${event} for its hook`)
  }
})
