import { test } from 'tap'
import { buildCommandResults } from '@aip/protocol'
import { silentLogger } from '@aip/resilience'
import type { AIPProtocol } from '@aip/endpoint'
import { ResultsSender } from '../src/results-sender.js'
import type { DropReason } from '../src/outbox.js'

const results = (sessionId: string): ReturnType<typeof buildCommandResults> =>
  buildCommandResults({ clientId: 'dev1', sessionId, prevResponseId: 'r', results: [] })

test('results wait without a connection, a failed send keeps the rest in order, and overflow drops the oldest', async (t) => {
  const written: string[] = []
  let failNext = false
  const protocol = {
    send: async (message: { session_id: string | null }) => {
      if (failNext) { failNext = false; throw new Error('closed') }
      written.push(String(message.session_id))
    }
  } as unknown as AIPProtocol<'client'>
  const link: { connected: AIPProtocol<'client'> | undefined } = { connected: undefined }
  const dropped: Array<[string | null, DropReason]> = []
  const sent: string[] = []
  const sender = new ResultsSender({
    maxEntries: 2,
    maxAgeMs: 60_000,
    now: () => 0,
    log: silentLogger,
    connection: () => link.connected,
    onSent: (entry) => sent.push(String(entry.sessionId)),
    onDropped: (entry, reason) => dropped.push([entry.sessionId, reason])
  })
  await sender.send(results('a'))
  await sender.send(results('b'))
  await sender.send(results('c'))
  t.same(dropped, [['a', 'overflow']], 'two kept, the oldest dropped')
  t.equal(sender.size, 2)
  link.connected = protocol
  failNext = true
  await sender.flush()
  t.same(written, [], 'the first send failed')
  t.equal(sender.size, 2, 'and both stay, in order')
  await sender.flush()
  t.same(written, ['b', 'c'])
  t.same(sent, ['b', 'c'])
  t.equal(sender.size, 0)
})
