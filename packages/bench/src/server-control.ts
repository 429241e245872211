import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { collectorAndCompiler } from './callgrind-profile.js'
import { callgrindWrapper, COUNTED_V8_FLAGS, countedInstructions, dumpProfile } from './instructions.js'
import type { ServerReply, ServerStats } from './server-main.js'

/** How a benchmark child process is started. */
export interface ChildOptions {
  /** Extra environment variables (for example `WS_NO_BUFFER_UTIL=1`). */
  env?: Record<string, string>
  /**
   * Open-file limit wanted for the process: it runs under `sh -c 'ulimit -n ...'`, raised as far as the hard
   * limit allows (see {@link hardFileLimit}). Unset: the parent's limit.
   */
  nofile?: number
  /** CPUs the process runs on, in `taskset -c` form (`--pin`); unset: wherever the scheduler puts it. */
  cpus?: string
  /** A command the process runs under (`valgrind ...` for `--instructions`): node becomes its argument. */
  wrapper?: readonly string[]
}

/** The hard open-file limit of this process (`ulimit -Hn`): how far a child's limit can be raised. */
export function hardFileLimit (): number {
  const out = spawnSync('/bin/sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' })
  const value = out.stdout.trim()
  return value === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(value)
}

/**
 * Starts `node [execArgv] entry [args]` with an IPC channel, under a raised open-file limit and on given CPUs when
 * asked: the shell raises the limit, then `exec`s node (through `taskset` when pinned), which keeps the IPC channel
 * (its descriptor and `NODE_CHANNEL_FD` are inherited).
 */
export function forkNode (entry: string, args: string[], execArgv: string[], options: ChildOptions = {}): ChildProcess {
  const env = { ...process.env, ...options.env }
  const stdio: ['ignore', 'inherit', 'inherit', 'ipc'] = ['ignore', 'inherit', 'inherit', 'ipc']
  const command = [...(options.wrapper ?? []), process.execPath, ...execArgv, entry, ...args]
  if (options.cpus !== undefined) command.unshift('taskset', '--cpu-list', options.cpus)
  if (options.nofile === undefined) return spawn(command[0] as string, command.slice(1), { env, stdio })
  const limit = Math.min(options.nofile, hardFileLimit())
  return spawn('/bin/sh', ['-c', `ulimit -n ${limit} && exec "$0" "$@"`, ...command], { env, stdio })
}

/**
 * `real`: the real server as `aip serve` runs it (WebSocket upgrades taken directly); `real-route`: the same with
 * fastify-aip's `upgrade: 'route'` (each upgrade routed by Fastify, the app's hooks running for it);
 * `real-metrics`: the real server with its Prometheus metrics on; `real-tracing`: the real server with an
 * OpenTelemetry SDK-like tracer provider registered, recording every span; `real-tracing-unsampled`: the same
 * provider with a sampler that drops every span (to measure what each costs).
 */
export type ServerKind = 'real' | 'baseline' | 'real-route' | 'real-metrics' | 'real-tracing' | 'real-tracing-unsampled'

/** A benchmark server running in a child process. */
export class ServerProcess {
  /** The CPUs every server process is started on (`--pin`), unless its own options name others. */
  static cpus: string | undefined
  /**
   * Set by `--instructions`: every server process runs under callgrind (its dumps in this directory), and its
   * stats carry the instructions it has executed.
   */
  static callgrindDir: string | undefined
  /**
   * With `callgrindDir`: every sample also writes callgrind's profile since the previous one there
   * (`callgrind.<pid>.<n>`; a scenario's window is the profile its second sample writes), for `callgrind_annotate`.
   */
  static dumpWindows = false

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
  static async start (kind: ServerKind, port = 0, options: ChildOptions = {}): Promise<ServerProcess> {
    const entry = fileURLToPath(new URL('./server-main.js', import.meta.url))
    // AIP_BENCH_CPU_PROF=<dir> writes a V8 CPU profile of every server process there (see the README).
    const profile = process.env.AIP_BENCH_CPU_PROF
    const execArgv = ['--expose-gc', ...(profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profile}`])]
    // Counted, V8 does its collection and compilation on the main thread, and no collection is started because the
    // process was idle for a while: under callgrind the process runs some 50 times slower while timers do not, so
    // work V8 schedules by time would be counted many times over, more or less from one run to the next.
    if (ServerProcess.callgrindDir !== undefined) execArgv.push(...COUNTED_V8_FLAGS)
    // Kept window profiles (`AIP_BENCH_CALLGRIND_DIR`): V8 writes the address of its generated code to
    // /tmp/perf-<pid>.map (`--perf-basic-prof`), which `callgrind-names` uses to name callgrind's unnamed functions
    // (and its log of code events, which that flag turns on, goes nowhere instead of isolate-*.log in the cwd).
    if (ServerProcess.dumpWindows) execArgv.push('--perf-basic-prof', '--logfile=/dev/null')
    // The floor is bare `ws` as npm installs it: without ws's optional native masking addon, which the real server
    // may load (`bufferutil`, an optional dependency of ours).
    const counted = ServerProcess.callgrindDir === undefined ? {} : { wrapper: callgrindWrapper(ServerProcess.callgrindDir) }
    const pinned = { cpus: ServerProcess.cpus, ...counted, ...options }
    const childOptions = kind === 'baseline' ? { ...pinned, env: { ...options.env, WS_NO_BUFFER_UTIL: '1' } } : pinned
    const child = forkNode(entry, [kind, String(port)], execArgv, childOptions)
    const ready = await new Promise<number>((resolve, reject) => {
      child.once('message', (message: { ready?: boolean, port?: number }) => {
        if (message.ready === true && typeof message.port === 'number') resolve(message.port)
        else reject(new Error('unexpected first message from the server process'))
      })
      child.once('exit', (code) => reject(new Error(`server process exited with ${String(code)}`)))
    })
    return new ServerProcess(kind, ready, child)
  }

  /** The server's process id (`undefined` if it could not be started). */
  get pid (): number | undefined {
    return this.#child.pid
  }

  get url (): string {
    return `ws://127.0.0.1:${this.port}/ws`
  }

  async #request (cmd: 'stats' | 'gc' | 'collect' | 'stop', sample = true): Promise<ServerStats> {
    const id = ++this.#nextId
    const stats = await new Promise<ServerStats>((resolve) => {
      this.#waiting.set(id, resolve)
      this.#child.send({ id, cmd })
    })
    // Counted once the answer is in: a window opened by a `gc` request leaves the collection out.
    const pid = this.#child.pid
    if (ServerProcess.callgrindDir === undefined || cmd === 'stop' || !sample || pid === undefined) return stats
    const counted = await countedInstructions(pid)
    const instructions = this.#dumped + counted
    if (!ServerProcess.dumpWindows) return { ...stats, instructions }
    // A dump starts callgrind's counts again from zero: what they held is kept here.
    await dumpProfile(pid)
    this.#dumped += counted
    await this.#readShares(join(ServerProcess.callgrindDir, `callgrind.${pid}.${++this.#dumps}`))
    return { ...stats, instructions, ...this.#shares }
  }

  /** Instructions counted before callgrind's last dump (`dumpWindows`). */
  #dumped = 0
  /** Profiles callgrind has written (`dumpWindows`): the last is `callgrind.<pid>.<dumps>`. */
  #dumps = 0
  /** The collector's and compilers' instructions in the profiles written so far; unset once one could not be read. */
  #shares: { collectorInstructions: number, compilerInstructions: number } | undefined = { collectorInstructions: 0, compilerInstructions: 0 }

  /** Adds the collector's and compilers' self cost in the profile at `path` to {@link #shares}. */
  async #readShares (path: string): Promise<void> {
    if (this.#shares === undefined) return
    try {
      const { collector, compiler } = collectorAndCompiler(await readFile(path, 'utf8'))
      this.#shares.collectorInstructions += collector
      this.#shares.compilerInstructions += compiler
    } catch (err) {
      process.stderr.write(`window profile ${path} not read: ${String(err)}\n`)
      this.#shares = undefined
    }
  }

  stats (): Promise<ServerStats> { return this.#request('stats') }

  /** Registered clients now, read without a sample: under callgrind nothing is counted or dumped for it. */
  async registered (): Promise<number> { return (await this.#request('stats', false)).registered }

  /**
   * Runs the server's side of a sample (a message in and out on its IPC channel) and nothing else: under callgrind
   * nothing is counted or dumped for it. For warm-ups: see `LatencyOptions.warmupTasks`.
   */
  async rehearse (): Promise<void> { await this.#request('stats', false) }

  /** Forces a full GC in the server, then returns its stats. */
  gc (): Promise<ServerStats> { return this.#request('gc') }

  /**
   * Forces a full GC in the server and nothing else: no sample (under callgrind nothing is counted or dumped for
   * it), no heap snapshot, no window profile. A counted window opens right after it (see `LatencyOptions.collectFirst`).
   */
  async collect (): Promise<void> { await this.#request('collect', false) }

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
