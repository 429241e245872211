import { createServer, type Server } from 'node:http'
import { connect, type Socket } from 'node:net'
import { test } from 'tap'
import { silentLogger } from '@aip/endpoint'
import { limitConnections } from '../src/connections.js'
import { FirstRequestDeadlines, type DeadlineClock } from '../src/first-request-deadlines.js'

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

/** Stand-ins for sockets: the deadlines only keep them and hand them back. */
function sockets (n: number): Socket[] {
  return Array.from({ length: n }, () => ({}) as Socket)
}

test('one timer serves the first-request deadlines of every connection, each expiring in turn', async (t) => {
  const clock = manualClock()
  const expired: Socket[] = []
  const deadlines = new FirstRequestDeadlines(1000, (socket) => { expired.push(socket) }, clock)
  const [a, b, c] = sockets(3) as [Socket, Socket, Socket]
  deadlines.add(a)
  clock.advance(400)
  deadlines.add(b)
  deadlines.add(c)
  t.equal(clock.pending(), 1, 'three connections, one timer')
  clock.advance(599)
  t.same(expired, [], 'nothing is due before its deadline')
  clock.advance(1)
  t.same(expired, [a], 'the oldest expires at its deadline')
  t.equal(clock.pending(), 1, 'the timer is armed again for the next one')
  clock.advance(400)
  t.same(expired, [a, b, c], 'the next ones at theirs')
  t.equal(clock.pending(), 0, 'no timer once none waits')
  t.equal(deadlines.size, 0)
})

test('a connection whose first request came, or that closed, is released: it never expires and is not kept', async (t) => {
  const clock = manualClock()
  const expired: Socket[] = []
  const deadlines = new FirstRequestDeadlines(1000, (socket) => { expired.push(socket) }, clock)
  const [served, closed, idle] = sockets(3) as [Socket, Socket, Socket]
  for (const socket of [served, closed, idle]) deadlines.add(socket)
  t.equal(deadlines.release(served), true, 'released when its first request comes')
  t.equal(deadlines.release(served), false, 'a later request finds nothing to release')
  t.equal(deadlines.release(closed), true)
  t.equal(deadlines.release({} as Socket), false, 'a socket never added is not waiting')
  t.equal(deadlines.release(undefined), false, 'a request without a socket (an injected upgrade) releases nothing')
  clock.advance(1000)
  t.same(expired, [idle], 'only the one that neither sent a request nor closed')
  t.equal(deadlines.release(idle), false, 'an expired one is not waiting any more')
  t.equal(clock.pending(), 0)
})

test('when every waiting connection was released, the timer stops at its next turn instead of running on', async (t) => {
  const clock = manualClock()
  const expired: Socket[] = []
  const deadlines = new FirstRequestDeadlines(1000, (socket) => { expired.push(socket) }, clock)
  const all = sockets(5)
  for (const socket of all) {
    deadlines.add(socket)
    clock.advance(10)
  }
  for (const socket of all) deadlines.release(socket)
  clock.advance(1000)
  t.same(expired, [])
  t.equal(clock.pending(), 0, 'no timer is armed for released deadlines')
  t.equal(deadlines.armed, false)
})

test('clear drops every deadline and the timer; a socket added again gets a fresh one', async (t) => {
  const clock = manualClock()
  const expired: Socket[] = []
  const deadlines = new FirstRequestDeadlines(1000, (socket) => { expired.push(socket) }, clock)
  const [a, b] = sockets(2) as [Socket, Socket]
  deadlines.add(a)
  deadlines.clear()
  t.equal(clock.pending(), 0)
  t.equal(deadlines.release(a), false, 'a cleared socket is not waiting')
  deadlines.add(b)
  clock.advance(1000)
  t.same(expired, [b])
})

test('the queue of a long stream of connections is compacted; deadlines stay right across it', async (t) => {
  const clock = manualClock()
  let expired = 0
  const deadlines = new FirstRequestDeadlines(100, () => { expired++ }, clock)
  const waiting: Socket[] = []
  // 3000 connections, one per millisecond, every other one sends its request at once.
  for (let i = 0; i < 3000; i++) {
    const [socket] = sockets(1) as [Socket]
    deadlines.add(socket)
    if (i % 2 === 0) deadlines.release(socket)
    else waiting.push(socket)
    clock.advance(1)
  }
  t.ok(deadlines.size < 3000, 'served entries were dropped')
  clock.advance(100)
  t.equal(expired, 1500, 'every connection that sent nothing expired, once')
  t.equal(deadlines.size, 0)
  t.equal(clock.pending(), 0)
})

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
