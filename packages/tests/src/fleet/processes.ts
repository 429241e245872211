import { fork, spawn, type ChildProcess } from 'node:child_process'
import { createServer, type AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'

/** The `aip` command of the workspace (`@aip/cli`, built). */
export const AIP_BIN = join(dirname(createRequire(import.meta.url).resolve('@aip/cli/package.json')), 'dist', 'bin.js')

/** A script of this package, built: `dist/fleet/<name>.js` (under tap this module runs from `src/`). */
export function fleetScript (name: string): string {
  const base = import.meta.url.endsWith('.ts') ? '../../dist/fleet/' : './'
  return fileURLToPath(new URL(`${base}${name}.js`, import.meta.url))
}

/** A free TCP port on 127.0.0.1 (for a server that must restart on the same port). */
export async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

interface LineWaiter { match: (value: Record<string, unknown>) => boolean, resolve: (value: Record<string, unknown>) => void, reject: (err: Error) => void, timer: NodeJS.Timeout }

/**
 * A child process whose stdout carries JSON lines (or IPC messages): every parsed value is kept, and
 * `waitFor(match, timeoutMs)` resolves with the first one (seen or to come) that matches.
 */
export class Observed {
  readonly child: ChildProcess
  readonly name: string
  readonly values: Array<Record<string, unknown>> = []
  readonly stderr: string[] = []
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  #waiters: LineWaiter[] = []

  constructor (name: string, child: ChildProcess) {
    this.name = name
    this.child = child
    if (child.stdout !== null) {
      createInterface({ input: child.stdout }).on('line', (line) => {
        if (!line.startsWith('{')) return
        try {
          this.push(JSON.parse(line) as Record<string, unknown>)
        } catch {}
      })
    }
    if (child.stderr !== null) {
      createInterface({ input: child.stderr }).on('line', (line) => {
        this.stderr.push(line)
        if (this.stderr.length > 200) this.stderr.shift()
      })
    }
    child.on('message', (message) => this.push(message as Record<string, unknown>))
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      for (const waiter of this.#waiters) {
        clearTimeout(waiter.timer)
        waiter.reject(new Error(`${name} exited (${String(signal ?? code)}) while waiting; stderr: ${this.stderr.slice(-5).join(' | ')}`))
      }
      this.#waiters = []
      resolve({ code, signal })
    }))
  }

  /** True while the process runs. */
  get alive (): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  push (value: Record<string, unknown>): void {
    this.values.push(value)
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.match(value)) return true
      clearTimeout(waiter.timer)
      waiter.resolve(value)
      return false
    })
  }

  /** The first value after index `from` that matches; rejects after `timeoutMs` or when the process exits. */
  waitFor (match: (value: Record<string, unknown>) => boolean, timeoutMs: number, what: string, from = 0): Promise<Record<string, unknown>> {
    const seen = this.values.slice(from).find(match)
    if (seen !== undefined) return Promise.resolve(seen)
    if (!this.alive) return Promise.reject(new Error(`${this.name} is not running (waiting for ${what})`))
    return new Promise((resolve, reject) => {
      const waiter: LineWaiter = {
        match,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter)
          reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms`))
        }, timeoutMs)
      }
      this.#waiters.push(waiter)
    })
  }

  /** SIGKILL, and wait for the exit. */
  async kill (): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL')
    await this.exited
  }

  /** SIGTERM (a clean stop), and wait for the exit. */
  async stop (): Promise<{ code: number | null, signal: NodeJS.Signals | null }> {
    if (this.alive) this.child.kill('SIGTERM')
    return await this.exited
  }
}

/**
 * `aip serve` on 127.0.0.1:`port` with a token, JSON output, and `args` appended (`['--resume-window', '10000']`);
 * resolves once it listens.
 */
export async function startServe (port: number, token: string, args: readonly string[] = []): Promise<Observed> {
  const child = spawn(process.execPath, [AIP_BIN, 'serve', '--host', '127.0.0.1', '--port', String(port), '--token', token, '--api-key', `${token}-api`, '--json', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AIP_LOG_LEVEL: 'error' }
  })
  const serve = new Observed(`aip serve :${port}`, child)
  try {
    await serve.waitFor((v) => typeof v.wsUrl === 'string', 60_000, 'listening line')
  } catch (err) {
    await serve.kill()
    throw err
  }
  return serve
}

/** `aip device --json` registering as `id` at `wsUrl` (several: one `--url` each, tried in turn). */
export function startDevice (id: string, wsUrl: string | readonly string[]): Observed {
  const urls = (typeof wsUrl === 'string' ? [wsUrl] : wsUrl).flatMap((url) => ['--url', url])
  const child = spawn(process.execPath, [AIP_BIN, 'device', ...urls, '--id', id, '--platform', 'linux', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe']
  })
  return new Observed(`aip device ${id}`, child)
}

/** A plain library program: `await new DeviceClientEndpoint({ wsUrl, clientId }).start()` and nothing else. */
export function startLibraryDevice (id: string, wsUrl: string): Observed {
  const child = spawn(process.execPath, [fleetScript('library-device'), wsUrl, id], { stdio: ['ignore', 'pipe', 'pipe'] })
  return new Observed(`library device ${id}`, child)
}

/** The constellation program (see constellation-child.ts), driven over an IPC channel it does not keep alive. */
export class ConstellationProcess extends Observed {
  #nextId = 0

  static start (serverUrl: string, devices: readonly string[]): ConstellationProcess {
    const child = fork(fleetScript('constellation-child'), [serverUrl, ...devices], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
    return new ConstellationProcess('constellation', child)
  }

  /** Sends a task and resolves with its outcome (`completed`, `failed`, or a rejection code). */
  async task (device: string, request: string, timeoutMs = 15_000): Promise<TaskOutcome> {
    const id = ++this.#nextId
    const from = this.values.length
    this.child.send({ cmd: 'task', id, device, request, timeoutMs })
    return await this.waitFor((v) => v.type === 'task' && v.id === id, timeoutMs + 10_000, `outcome of task ${id}`, from) as unknown as TaskOutcome
  }

  /** Resolves once every device in `devices` is connected, per the latest state messages. */
  async allConnected (devices: readonly string[], timeoutMs: number): Promise<void> {
    const connected = (): boolean => devices.every((d) => this.lastState(d) === 'connected' || this.lastState(d) === 'idle' || this.lastState(d) === 'busy')
    if (connected()) return
    await this.waitFor(() => connected(), timeoutMs, `all of ${devices.join(', ')} connected`)
  }

  lastState (device: string): string | undefined {
    for (let i = this.values.length - 1; i >= 0; i--) {
      const v = this.values[i] as Record<string, unknown>
      if (v.type === 'state' && v.deviceId === device) return v.to as string
    }
    return undefined
  }
}

/** What the constellation program reports for one task. */
export interface TaskOutcome {
  readonly type: 'task'
  readonly id: number
  /** `completed` / `failed` (a TASK_END), or `rejected`. */
  readonly outcome: 'completed' | 'failed' | 'rejected'
  /** The rejection's code (`AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED`, ...). */
  readonly code?: string
  readonly error?: string
  /** `taskEnd` events of the task in the program when it settled (must be 1). */
  readonly ends: number
}
