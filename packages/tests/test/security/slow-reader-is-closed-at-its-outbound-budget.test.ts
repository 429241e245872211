import { test } from 'tap'
import { slowReader } from '../../src/security/attacks/slow-reader.js'
import { startLocalTarget } from '../../src/security/local.js'

test('a client that never reads its answers is closed with 1008 at its outbound budget, logged once', async (t) => {
  const { server, target, logs } = await startLocalTarget({ maxOutboundBytes: 256 * 1024 })
  t.teardown(() => server.close())
  const closed = new Promise<number>((resolve) => server.aip.on('clientDisconnected', (info) => resolve(info.code)))
  const result = await slowReader(target, { frames: 30_000, closeWithinMs: 3000 })
  t.ok(result.refused, result.detail)
  t.equal(await closed, 1008, 'the server closed it with 1008')
  t.equal(logs.matching('outbound budget exceeded').length, 1, 'one log line')
  t.equal(server.aip.connectionCount, 0, 'nothing is left of it')
})
