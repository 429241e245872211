import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ServerStats } from './server-child.js'

export type { ServerStats }

/** A fastify-aip server in a child process (see server-child.ts). */
export class ServerProcess {
  readonly port: number
  readonly #child: ChildProcess
  #nextId = 0
  readonly #waiting = new Map<number, { resolve: (stats: ServerStats) => void, reject: (err: Error) => void }>()
  /** Set when the process exited without being asked to. */
  crashed: string | null = null
  #stopping = false

  private constructor (port: number, child: ChildProcess) {
    this.port = port
    this.#child = child
    child.on('message', (message: { id: number, stats: ServerStats }) => {
      const waiter = this.#waiting.get(message.id)
      if (waiter === undefined) return
      this.#waiting.delete(message.id)
      waiter.resolve(message.stats)
    })
    child.on('exit', (code, signal) => {
      if (!this.#stopping) this.crashed = `server process exited with ${String(signal ?? code)}`
      for (const waiter of this.#waiting.values()) waiter.reject(new Error(this.crashed ?? 'server process exited'))
      this.#waiting.clear()
    })
  }

  static async start (config: Record<string, unknown>): Promise<ServerProcess> {
    // Under tap this module runs from src/*.ts: fork the built child (`npm test` builds first).
    const entry = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../dist/server-child.js' : './server-child.js', import.meta.url))
    const child = fork(entry, [JSON.stringify(config)], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (message: { ready?: boolean, port?: number }) => {
        if (message.ready === true && typeof message.port === 'number') resolve(message.port)
        else reject(new Error('unexpected first message from the server process'))
      })
      child.once('exit', (code) => reject(new Error(`server process exited with ${String(code)}`)))
    })
    return new ServerProcess(port, child)
  }

  get wsUrl (): string {
    return `ws://127.0.0.1:${this.port}/ws`
  }

  #request (cmd: 'stats' | 'gc' | 'stop'): Promise<ServerStats> {
    const id = ++this.#nextId
    return new Promise((resolve, reject) => {
      if (this.crashed !== null) { reject(new Error(this.crashed)); return }
      this.#waiting.set(id, { resolve, reject })
      this.#child.send({ id, cmd })
    })
  }

  stats (): Promise<ServerStats> { return this.#request('stats') }

  /** Two full GCs in the server, then its stats. */
  gc (): Promise<ServerStats> { return this.#request('gc') }

  async stop (): Promise<ServerStats | null> {
    if (this.crashed !== null) return null
    this.#stopping = true
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()))
    const stats = await this.#request('stop').catch(() => null)
    await exited
    return stats
  }
}
