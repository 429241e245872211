import { test } from 'tap'
import { addressesForRun, scalePlan } from '../src/scale.js'

const options = { devices: 100_000, heartbeatMs: 20_000, workers: 2, timeoutMs: 1000 }

test('the scale plan runs every device when the open-file limit allows it, over loopback addresses with room', async (t) => {
  const plan = scalePlan(options, 1_048_576)
  t.equal(plan.devices, 100_000)
  t.equal(plan.capped, false)
  t.equal(plan.workers, 2)
  t.ok(plan.addresses.length >= 8, 'at most 12,500 devices per source address')
  for (const address of plan.addresses) t.match(address, /^127\.\d+\.\d+\.\d+$/)
  t.notOk(plan.addresses.includes('127.0.0.1'), 'the server address is not a source address')
  t.equal(new Set(plan.addresses).size, plan.addresses.length)
})

test('the scale plan caps the devices to what one server process can hold', async (t) => {
  const plan = scalePlan(options, 20_000)
  t.equal(plan.devices, 19_000)
  t.equal(plan.capped, true)
  t.equal(plan.workers, 2)
  t.equal(scalePlan({ ...options, workers: 1 }, 20_000).workers, 1, 'one worker holds what one server can under the same limit')
  t.equal(scalePlan({ ...options, devices: 5 }, 20_000).devices, 5, 'fewer devices than the limit are not capped')
})

test('every run of the scale scenario binds its devices on source addresses of its own', async (t) => {
  const { addresses } = scalePlan(options, 1_048_576)
  t.same(addressesForRun(addresses, 0), addresses, 'the first run uses the plan as it is')
  const second = addressesForRun(addresses, 1)
  t.equal(second.length, addresses.length)
  for (const address of second) t.match(address, /^127\.1\.\d+\.\d+$/, 'loopback still')
  t.equal(new Set([...addresses, ...second]).size, addresses.length * 2, 'none shared with the previous run')
  t.notOk(addressesForRun(addresses, 250).includes('127.0.0.1'), 'never the server address, however many runs')
})
