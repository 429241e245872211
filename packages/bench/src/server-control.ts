import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ServerReply, ServerStats } from './server-main.js'

/** `real-metrics`: the real server with its Prometheus metrics on (to measure what they cost). */
export type ServerKind = 'real' | 'baseline' | 'real-metrics'

/** A benchmark server running in a child process. */
export class ServerProcess {
  readonly kind: ServerKind
  readonly port: number
  readonly #child: ChildProcess
  #nextId = 0
  readonly #waiting = new Map<number, (stats: ServerStats) => void>()

  private constructor (kind: ServerKind, port: number, child: ChildProcess) {
    this.kind = kind
    this.port = port
    this.#child = child
    child.on('message', (message: ServerReply) => {
      const resolve = this.#waiting.get(message.id)
      if (resolve === undefined) return
      this.#waiting.delete(message.id)
      resolve(message.stats)
    })
  }

  /** Starts a server of `kind` on `port` (0: any) and waits until it listens. */
  static async start (kind: ServerKind, port = 0): Promise<ServerProcess> {
    const entry = fileURLToPath(new URL('./server-main.js', import.meta.url))
    // AIP_BENCH_CPU_PROF=<dir> writes a V8 CPU profile of every server process there (see the README).
    const profile = process.env.AIP_BENCH_CPU_PROF
    const execArgv = ['--expose-gc', ...(profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profile}`])]
    const child = fork(entry, [kind, String(port)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const ready = await new Promise<number>((resolve, reject) => {
      child.once('message', (message: { ready?: boolean, port?: number }) => {
        if (message.ready === true && typeof message.port === 'number') resolve(message.port)
        else reject(new Error('unexpected first message from the server process'))
      })
      child.once('exit', (code) => reject(new Error(`server process exited with ${String(code)}`)))
    })
    return new ServerProcess(kind, ready, child)
  }

  get url (): string {
    return `ws://127.0.0.1:${this.port}/ws`
  }

  #request (cmd: 'stats' | 'gc' | 'stop'): Promise<ServerStats> {
    const id = ++this.#nextId
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve)
      this.#child.send({ id, cmd })
    })
  }

  stats (): Promise<ServerStats> { return this.#request('stats') }

  /** Forces a full GC in the server, then returns its stats. */
  gc (): Promise<ServerStats> { return this.#request('gc') }

  /** Clean stop; resolves when the process has exited. */
  async stop (): Promise<void> {
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()))
    this.#child.send({ id: ++this.#nextId, cmd: 'stop' })
    await exited
  }

  /** A crash: SIGKILL, no close frames. Resolves when the process is gone. */
  async kill (): Promise<void> {
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()))
    this.#child.kill('SIGKILL')
    await exited
  }
}
