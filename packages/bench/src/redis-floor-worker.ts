import { createRequire } from 'node:module'
import { connect, type Socket } from 'node:net'
import { once } from 'node:events'
import { pathToFileURL } from 'node:url'
import { FLOOR_CHANNELS, type FloorMeasure, type FloorReply, type FloorRequest } from './redis-floor.js'

// The measured process of `redis-floor` (see there): `node redis-floor-worker.js <redis url>`. Over IPC it is asked
// to `run` one of the FLOOR_MEASURES `ops` times, one operation per turn of the event loop and each alone (the next
// one starts once the last has ended), as a node does one for a task at light load; it answers with its CPU so far.
// A `received` measure is driven from outside (the parent publishes, paced): `run` then only reads the count.

/** A task record's size: the value every `SET` writes. */
const VALUE = JSON.stringify({ sessionId: 'session-0001', taskName: 'task-0001', requesterId: 'constellation-1', deviceId: 'device-1', request: 'r'.repeat(300), status: 'completed', error: null, result: { text: 'x'.repeat(400) }, startedAt: 1_764_000_000_000, endedAt: 1_764_000_000_250, sizeBytes: 900 })
const TTL_MS = 60_000
const PUSHED = Buffer.from('$7\r\nmessage\r\n')

interface TaskResult { sessionId: string, taskName: string, [field: string]: unknown }
interface ResultStore { put: (record: TaskResult) => Promise<void> }
interface Connection { run: <T>(operation: string, work: (client: IoRedis) => Promise<T>) => Promise<T>, subscribe: (channel: string, onMessage: (message: string) => void, onSubscribed?: () => void) => () => void, waitReady: () => Promise<void>, close: () => Promise<void> }
interface IoRedis { set: (key: string, value: string, px: 'PX', ms: number) => Promise<unknown>, quit: () => Promise<unknown> }
type IoRedisClass = new (url: string) => IoRedis

// `@aip/redis` and ioredis as fastify-aip loads them (the bench does not depend on them).
const fromPlugin = createRequire(createRequire(import.meta.url).resolve('fastify-aip'))
const redisEntry = fromPlugin.resolve('@aip/redis')
const { RedisConnection, RedisDeliveryLog, RedisResultStore } = await import(pathToFileURL(redisEntry).href) as {
  RedisConnection: new (options: { url: string }) => Connection
  RedisDeliveryLog: new (redis: Connection) => object
  RedisResultStore: new (redis: Connection, options: { deliveryLog: object }) => ResultStore
}
const IoRedisModule = createRequire(redisEntry)('ioredis') as { default?: IoRedisClass } & IoRedisClass
const IoRedis = IoRedisModule.default ?? IoRedisModule

const url = process.argv[2] as string
const { hostname, port } = new URL(url)

const turn = async (): Promise<void> => { await new Promise<void>((resolve) => setImmediate(resolve)) }

/** A socket speaking RESP by hand: each `+OK` line answers the oldest command written. */
async function plainSocket (): Promise<{ socket: Socket, set: (key: string) => Promise<void> }> {
  const socket = connect(Number(port), hostname)
  await once(socket, 'connect')
  socket.setNoDelay(true)
  const waiting: Array<() => void> = []
  socket.on('data', (chunk: Buffer) => {
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) waiting.shift()?.()
  })
  const bytes = Buffer.byteLength(VALUE)
  return {
    socket,
    set: async (key) => await new Promise<void>((resolve) => {
      waiting.push(resolve)
      socket.write(`*5\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${bytes}\r\n${VALUE}\r\n$2\r\nPX\r\n$${String(TTL_MS).length}\r\n${TTL_MS}\r\n`)
    })
  }
}

const aip = new RedisConnection({ url })
await aip.waitReady()
const results = new RedisResultStore(aip, { deliveryLog: new RedisDeliveryLog(aip) })
const record = JSON.parse(VALUE) as TaskResult
const ioredis = new IoRedis(url)
const plain = await plainSocket()
let received = 0
// The subscriptions of the `received` measures: a plain socket in subscriber mode, and the connection's own.
const listener = connect(Number(port), hostname)
await once(listener, 'connect')
const socketChannel = FLOOR_CHANNELS['socket message received']
listener.write(`*2\r\n$9\r\nSUBSCRIBE\r\n$${socketChannel.length}\r\n${socketChannel}\r\n`)
await once(listener, 'data')
let listening: FloorMeasure | null = null
// Each message pushed starts with its kind; two may come in one read when the process was busy.
listener.on('data', (chunk: Buffer) => {
  if (listening !== 'socket message received') return
  for (let at = chunk.indexOf(PUSHED); at !== -1; at = chunk.indexOf(PUSHED, at + 1)) received++
})
await new Promise<void>((resolve) => { aip.subscribe(FLOOR_CHANNELS['@aip/redis message received'], () => { if (listening === '@aip/redis message received') received++ }, resolve) })

let key = 0
const ops: Record<FloorMeasure, (() => Promise<void>) | null> = {
  turn,
  'socket round trip': async () => { await turn(); await plain.set(`floor:${key++ & 1023}`) },
  'ioredis round trip': async () => { await turn(); await ioredis.set(`floor:${key++ & 1023}`, VALUE, 'PX', TTL_MS) },
  '@aip/redis round trip': async () => { await turn(); await aip.run('floor.set', async (client) => await client.set(`floor:${key++ & 1023}`, VALUE, 'PX', TTL_MS)) },
  // A node's record is a new object each time, with its own session id.
  'result stored': async () => { await turn(); await results.put({ ...record, sessionId: `session-${key++ & 1023}` }) },
  'socket message received': null,
  '@aip/redis message received': null
}

const reply = (id: number): void => {
  const cpu = process.cpuUsage()
  process.send?.({ id, cpuMicros: cpu.user + cpu.system, received } satisfies FloorReply)
}

process.on('message', (request: FloorRequest) => {
  if (request.cmd === 'stop') {
    Promise.allSettled([aip.close(), ioredis.quit()]).then(() => {
      plain.socket.destroy()
      listener.destroy()
      process.disconnect?.()
    }, () => {})
    return
  }
  const op = ops[request.measure]
  if (op === null) {
    // Messages are counted for this measure from now on; the parent publishes them.
    if (listening !== request.measure) received = 0
    listening = request.measure
    reply(request.id)
    return
  }
  listening = null
  const runAll = async (): Promise<void> => {
    for (let i = 0; i < request.ops; i++) await op()
  }
  // A failed operation (Redis gone) ends the worker: the parent sees it exit.
  runAll().then(() => { reply(request.id) }, (err: unknown) => {
    process.stderr.write(`redis-floor-worker: ${String(err)}\n`)
    process.exit(1)
  })
})
// A parent gone (its IPC channel closed) leaves no worker holding connections behind.
process.on('disconnect', () => { process.exit(0) })
process.send?.({ id: 0, cpuMicros: 0, received: 0 } satisfies FloorReply)
