import { test } from 'tap'
import { dispatchFlood } from '../../src/security/attacks/dispatch-flood.js'
import { LOCAL_API_KEY, startLocalTarget } from '../../src/security/local.js'
import { Probe } from '../../src/security/probe.js'
import { wsUrl } from '../../src/security/target.js'

test('a device holds at most maxDispatchesPerDevice HTTP dispatches; more are refused with 429', async (t) => {
  const { server, target } = await startLocalTarget({ maxDispatchesPerDevice: 5 })
  t.teardown(() => server.close())
  const result = await dispatchFlood(target, { dispatches: 8 })
  t.ok(result.refused, result.detail)
  t.match(result.detail, /5 × HTTP 200, 3 × HTTP 429; refused from dispatch 6/)
})

test('an HTTP dispatch without a deadline gets the default one: it stops being pending once it passes', async (t) => {
  const { server, target } = await startLocalTarget({ dispatchTimeoutMs: 200 })
  t.teardown(() => server.close())
  const device = await Probe.open(wsUrl(target))
  t.teardown(() => device.close())
  await device.register('silent')
  const headers = { 'x-api-key': LOCAL_API_KEY }
  const dispatched = await server.app.inject({ method: 'POST', url: '/api/dispatch', headers, body: { client_id: 'silent', request: 'x', task_name: 'never' } })
  t.equal(dispatched.statusCode, 200)
  const read = async (): Promise<number> => (await server.app.inject({ method: 'GET', url: '/api/task_result/never', headers })).statusCode
  t.equal(await read(), 200, 'pending at first')
  // Bounded: the deadline is 200 ms; give it up to 5 s.
  let status = 200
  for (let i = 0; i < 100 && status === 200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    status = await read()
  }
  t.equal(status, 404, 'no longer pending after the deadline (it never ran, so nothing is kept)')
})
