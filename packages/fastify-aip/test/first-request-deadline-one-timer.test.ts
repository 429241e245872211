import { createServer, type Server } from 'node:http'
import { connect, type Socket } from 'node:net'
import { test } from 'tap'
import { silentLogger } from '@aip/endpoint'
import { limitConnections } from '../src/connections.js'
import type { DeadlineClock } from '@aip/resilience'

/** A clock moved by hand, with the timers armed on it. */
function manualClock (): DeadlineClock & { advance: (ms: number) => void, pending: () => number } {
  let now = 0
  let timers: Array<{ at: number, fn: () => void }> = []
  return {
    now: () => now,
    schedule: (fn, ms) => {
      const timer = { at: now + ms, fn }
      timers.push(timer)
      return () => { timers = timers.filter((t) => t !== timer) }
    },
    advance (ms) {
      now += ms
      // Bounded: a due timer is removed before it runs; those it arms are due later.
      for (let due = timers.find((t) => t.at <= now); due !== undefined; due = timers.find((t) => t.at <= now)) {
        const fired = due
        timers = timers.filter((t) => t !== fired)
        fired.fn()
      }
    },
    pending: () => timers.length
  }
}

// The queue itself (one timer, release, compaction) is tested in @aip/resilience (`DeadlineQueue`).

test('on a server, one timer closes every silent connection in time; one that sent its request stays', async (t) => {
  const clock = manualClock()
  const server: Server = createServer((_request, response) => { response.end('ok') })
  const stop = limitConnections(server, { headersTimeoutMs: 1000, maxConnections: null, maxConnectionsPerAddress: 0 }, silentLogger, clock)
  t.teardown(async () => {
    stop()
    await new Promise((resolve) => server.close(resolve))
  })
  const accepted: Socket[] = []
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  const three = new Promise<void>((resolve) => {
    server.on('connection', (socket: Socket) => { if (accepted.push(socket) === 3) resolve() })
  })
  const clients = [connect(port, '127.0.0.1'), connect(port, '127.0.0.1'), connect(port, '127.0.0.1')]
  for (const client of clients) client.on('error', () => {})
  t.teardown(() => { for (const client of clients) client.destroy() })
  await three
  t.equal(clock.pending(), 1, 'three connections, one timer')
  const [talker] = clients as [Socket]
  const answered = new Promise<void>((resolve) => talker.once('data', () => { resolve() }))
  talker.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
  await answered
  const silentClosed = Promise.all(clients.slice(1).map(async (client) => await new Promise((resolve) => client.once('close', resolve))))
  clock.advance(1000)
  await silentClosed
  t.pass('the silent connections were closed at the deadline')
  t.equal(talker.destroyed, false, 'the one that sent its request is still open')
  t.equal(clock.pending(), 0)
})
