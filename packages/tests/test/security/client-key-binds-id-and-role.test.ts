import { test } from 'tap'
import { keyRoleBinding } from '../../src/security/attacks/key-role-binding.js'
import { startLocalTarget } from '../../src/security/local.js'

test("a device's key cannot register a constellation, and the shared token cannot take an id that has a key", async (t) => {
  const { server, target } = await startLocalTarget({ clientKeys: { dev1: 'dev1-secret' } })
  t.teardown(() => server.close())
  const result = await keyRoleBinding(target)
  t.ok(result.refused, result.detail)
  t.notOk(server.aip.isConnected('dev1'), 'nothing registered as dev1')
})
