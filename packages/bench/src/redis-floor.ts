import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { callgrindMissing, callgrindWrapper, COUNTED_V8_FLAGS, countedInstructions } from './instructions.js'
import { BenchRedis, redisServerMissing } from './redis.js'
import { forkNode } from './server-control.js'

// `node packages/bench/dist/redis-floor.js [--instructions] [--ops n] [--warmup n] [--pace-ms n]`: what the least a
// node can do with Redis for a task costs on this runtime, one operation at a time as at light load. A process
// (`redis-floor-worker`) runs each measure `warmup` times, then `ops` times in the measured window: a turn of the
// event loop alone, a `SET ... PX` of a task record's size answered (on a plain socket, through ioredis, through
// @aip/redis's connection), a task's result stored as a node stores it (`RedisResultStore.put` with the node's
// delivery log: its JSON made, two `SET`s), a pub/sub message received (on a plain socket, through the connection). Printed per
// operation: the process's CPU (µs) or, with `--instructions` (the process and redis-server under callgrind), its
// instructions and redis-server's, and what each adds to a task's work (see `FloorFigure.adds`).
// The bench README's "What a task on Redis costs at the least" reads these against the light-load task.

/** What a node does for a task at the least, one operation at a time. */
export const FLOOR_MEASURES = ['turn', 'socket round trip', 'ioredis round trip', '@aip/redis round trip', 'result stored', 'socket message received', '@aip/redis message received'] as const
export type FloorMeasure = typeof FLOOR_MEASURES[number]

/** The channel each `received` measure listens on (one each: a message wakes only the measured subscriber). */
export const FLOOR_CHANNELS = { 'socket message received': 'aip-bench-floor:socket', '@aip/redis message received': 'aip-bench-floor:aip' } as const

export type FloorRequest = { id: number, cmd: 'run', measure: FloorMeasure, ops: number } | { id: number, cmd: 'stop' }
export interface FloorReply {
  id: number
  /** User + system CPU of the process so far, µs. */
  cpuMicros: number
  /** Messages received so far on the measure's subscription (the `received` measures). */
  received: number
}

export interface FloorOptions {
  /** Count instructions under callgrind (needs valgrind) instead of CPU time. */
  instructions: boolean
  /** Operations in each measured window. */
  ops: number
  /** Operations before each window. */
  warmup: number
  /** Time between two published messages of a `received` measure (each is handled alone). */
  paceMs: number
}

export interface FloorFigure {
  measure: FloorMeasure
  ops: number
  /** Per operation: the worker's CPU (µs) or instructions (counted). */
  perOp: number
  /**
   * What the operation adds to a task's work: a round trip's `perOp` minus the turn's (a task's write is made in the
   * turn that ends it, which the task has anyway), a received message's whole `perOp` (it wakes the process).
   */
  adds: number
  /** redis-server's instructions per operation (counted only). */
  redisPerOp?: number
}

/** Publishes on a floor channel from a plain socket (its own cost is not measured), reading the answers. */
async function publisher (port: number): Promise<{ publish: (channel: string) => Promise<void>, close: () => void }> {
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.setNoDelay(true)
  const waiting: Array<() => void> = []
  socket.on('data', (chunk: Buffer) => {
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) waiting.shift()?.()
  })
  const message = JSON.stringify({ kind: 'frame', text: 'x'.repeat(600) })
  const text = (channel: string): string => `*3\r\n$7\r\nPUBLISH\r\n$${channel.length}\r\n${channel}\r\n$${Buffer.byteLength(message)}\r\n${message}\r\n`
  return {
    publish: async (channel) => { await new Promise<void>((resolve) => { waiting.push(resolve); socket.write(text(channel)) }) },
    close: () => { socket.destroy() }
  }
}

class FloorWorker {
  readonly #child: ChildProcess
  readonly #waiting = new Map<number, { resolve: (reply: FloorReply) => void, reject: (err: Error) => void }>()
  #nextId = 0

  private constructor (child: ChildProcess) {
    this.#child = child
    child.on('message', (reply: FloorReply) => {
      this.#waiting.get(reply.id)?.resolve(reply)
      this.#waiting.delete(reply.id)
    })
    child.on('exit', (code) => {
      for (const { reject } of this.#waiting.values()) reject(new Error(`floor worker exited with ${String(code)}`))
      this.#waiting.clear()
    })
  }

  static async start (url: string, wrapper: readonly string[] | undefined): Promise<FloorWorker> {
    const entry = fileURLToPath(new URL('./redis-floor-worker.js', import.meta.url))
    const child = forkNode(entry, [url], wrapper === undefined ? [] : [...COUNTED_V8_FLAGS], wrapper === undefined ? {} : { wrapper })
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => { resolve() })
      child.once('exit', (code) => { reject(new Error(`floor worker exited with ${String(code)}`)) })
    })
    return new FloorWorker(child)
  }

  get pid (): number { return this.#child.pid as number }

  async run (measure: FloorMeasure, ops: number): Promise<FloorReply> {
    const id = ++this.#nextId
    return await new Promise<FloorReply>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject })
      this.#child.send({ id, cmd: 'run', measure, ops } satisfies FloorRequest)
    })
  }

  async stop (): Promise<void> {
    const exited = once(this.#child, 'exit')
    this.#child.send({ id: ++this.#nextId, cmd: 'stop' } satisfies FloorRequest)
    await exited
  }
}

/** Measures every floor measure once; throws when redis-server (or, counted, valgrind) is missing. */
export async function measureFloor (options: FloorOptions): Promise<FloorFigure[]> {
  const missing = redisServerMissing() ?? (options.instructions ? callgrindMissing() : null)
  if (missing !== null) throw new Error(missing)
  const dir = options.instructions ? mkdtempSync(join(tmpdir(), 'aip-bench-floor-')) : undefined
  const wrapper = dir === undefined ? undefined : callgrindWrapper(dir)
  const redis = await BenchRedis.start(wrapper)
  try {
    const worker = await FloorWorker.start(redis.url, wrapper)
    const out = await publisher(redis.port)
    try {
      const sample = async (reply: FloorReply): Promise<{ worker: number, redis: number | undefined }> => ({
        worker: options.instructions ? await countedInstructions(worker.pid) : reply.cpuMicros,
        redis: await redis.instructions()
      })
      const publishPaced = async (channel: string, count: number): Promise<void> => {
        for (let i = 0; i < count; i++) {
          await out.publish(channel)
          await new Promise((resolve) => setTimeout(resolve, options.paceMs))
        }
      }
      const figures: FloorFigure[] = []
      for (const measure of FLOOR_MEASURES) {
        const channel = (FLOOR_CHANNELS as Partial<Record<FloorMeasure, string>>)[measure]
        const received = channel !== undefined
        let before: { worker: number, redis: number | undefined }
        let after: { worker: number, redis: number | undefined }
        if (received) {
          await worker.run(measure, 0)
          await publishPaced(channel, options.warmup)
          before = await sample(await worker.run(measure, 0))
          await publishPaced(channel, options.ops)
          // The window closes before the count is asked for (the request is not counted).
          const counted = options.instructions ? await sample({ id: 0, cpuMicros: 0, received: 0 }) : undefined
          const reply = await worker.run(measure, 0)
          after = counted ?? await sample(reply)
          if (reply.received !== options.warmup + options.ops) throw new Error(`${measure}: ${reply.received} of ${options.warmup + options.ops} messages received`)
        } else {
          await worker.run(measure, options.warmup)
          before = await sample(await worker.run(measure, 0))
          after = await sample(await worker.run(measure, options.ops))
        }
        const perOp = (after.worker - before.worker) / options.ops
        // A round trip's operation runs in a turn of its own first (as a task's write runs in the turn that ended it):
        // what it adds is the rest. A message received wakes the process: all of it is added.
        const adds = received ? perOp : perOp - (figures[0]?.perOp ?? perOp)
        const figure: FloorFigure = { measure, ops: options.ops, perOp, adds }
        if (before.redis !== undefined && after.redis !== undefined) figure.redisPerOp = (after.redis - before.redis) / options.ops
        figures.push(figure)
      }
      return figures
    } finally {
      out.close()
      await worker.stop()
    }
  } finally {
    await redis.stop()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  }
}

/** The figures as a Markdown table. */
export function floorMarkdown (figures: readonly FloorFigure[], instructions: boolean): string {
  const unit = instructions ? 'instructions' : 'CPU µs'
  const round = (v: number): string => instructions ? Math.round(v).toLocaleString('en-US') : v.toFixed(1)
  const lines = [`| measure (one per turn, alone) | node, ${unit} per op | added to a task | redis-server, instructions per op |`, '|---|---:|---:|---:|']
  for (const f of figures) lines.push(`| ${f.measure} | ${round(f.perOp)} | ${round(f.adds)} | ${f.redisPerOp === undefined ? 'n/a' : Math.round(f.redisPerOp).toLocaleString('en-US')} |`)
  return lines.join('\n')
}

function parseArgs (argv: readonly string[]): FloorOptions {
  const options: FloorOptions = { instructions: false, ops: 2000, warmup: 20_000, paceMs: 4 }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--instructions') {
      options.instructions = true
      continue
    }
    const name = ({ '--ops': 'ops', '--warmup': 'warmup', '--pace-ms': 'paceMs' } as const)[arg as '--ops' | '--warmup' | '--pace-ms']
    const value = Number(argv[++i])
    if (name === undefined || !Number.isSafeInteger(value) || value < (name === 'ops' ? 1 : 0)) {
      throw new Error('usage: redis-floor [--instructions] [--ops n (≥ 1)] [--warmup n] [--pace-ms n]')
    }
    options[name] = value
  }
  return options
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const options = parseArgs(process.argv.slice(2))
    const figures = await measureFloor(options)
    for (const figure of figures) process.stdout.write(`${JSON.stringify(figure)}\n`)
    process.stdout.write(`\n${floorMarkdown(figures, options.instructions)}\n`)
  } catch (err) {
    process.stderr.write(`redis-floor: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = 2
  }
}
