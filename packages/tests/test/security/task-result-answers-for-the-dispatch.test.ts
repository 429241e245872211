import { test } from 'tap'
import { taskResultSpoof } from '../../src/security/attacks/task-result-spoof.js'
import { startLocalTarget } from '../../src/security/local.js'

test('GET task_result answers for the HTTP dispatch, never for a WebSocket task of the same name', async (t) => {
  const { server, target } = await startLocalTarget()
  t.teardown(() => server.close())
  const result = await taskResultSpoof(target)
  t.ok(result.refused, result.detail)
})
