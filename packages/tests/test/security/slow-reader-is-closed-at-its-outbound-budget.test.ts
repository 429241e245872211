import { test } from 'tap'
import { slowReader } from '../../src/security/attacks/slow-reader.js'
import { startLocalTarget } from '../../src/security/local.js'

test('a client that never reads its answers is closed with 1008 at its outbound budget, logged once', async (t) => {
  const { server, target, logs } = await startLocalTarget({ maxOutboundBytes: 256 * 1024 })
  t.teardown(() => server.close())
  const closed = new Promise<number>((resolve) => server.aip.on('clientDisconnected', (info) => resolve(info.code)))
  const result = await slowReader(target, { frames: 30_000, closeWithinMs: 3000 })
  t.ok(result.refused, result.detail)
  // The server sends a close 1008; when the unread bytes keep the close frame from getting through, it drops the
  // socket a second later and the connection ends as 1006.
  t.ok([1008, 1006].includes(await closed), 'the server closed it (1008, or dropped it after sending 1008)')
  const lines = logs.matching('outbound budget exceeded')
  t.equal(lines.length, 1, 'one log line')
  t.match(lines[0]?.obj, { maxOutboundBytes: 256 * 1024 }, 'naming the budget')
  t.equal(server.aip.connectionCount, 0, 'nothing is left of it')
})
