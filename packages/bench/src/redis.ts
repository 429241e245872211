import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { countedInstructions, dumpProfile } from './instructions.js'

// A redis-server started by the benchmark itself for the Redis scenarios: on a free port of 127.0.0.1, in a temp
// dir, nothing persisted, stopped by its pid. Its CPU is read from /proc/<pid>/stat and its command count from
// `INFO commandstats`, so that the scenarios can charge both to the tasks they run.

/** Why redis-server cannot be used here, or `null` when it can. */
export function redisServerMissing (): string | null {
  const run = spawnSync('redis-server', ['--version'], { stdio: 'ignore' })
  return run.status === 0 ? null : 'redis-server is not installed (Debian package redis-server)'
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port)
        else reject(new Error('no port'))
      })
    })
  })
}

/** Clock ticks per second of /proc/<pid>/stat's times (`getconf CLK_TCK`; 100 on Linux when unknown). */
function clockTicks (): number {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })
  const value = Number(out.stdout?.trim())
  return Number.isFinite(value) && value > 0 ? value : 100
}

/** A redis-server of the benchmark. */
export class BenchRedis {
  readonly port: number
  readonly #child: ChildProcess
  readonly #dir: string
  readonly #ticks = clockTicks()
  /** Whether it runs under callgrind (its instructions can be counted). */
  readonly #counted: boolean
  #previous = new Map<string, number>()
  #previousCpu = 0

  private constructor (port: number, child: ChildProcess, dir: string, counted: boolean) {
    this.#counted = counted
    this.port = port
    this.#child = child
    this.#dir = dir
  }

  /**
   * Starts redis-server on a free port (a few attempts: a port found free can be taken before it binds); under
   * `wrapper` when given (callgrind for `--instructions`: then {@link instructions} counts its work).
   */
  static async start (wrapper: readonly string[] = []): Promise<BenchRedis> {
    const dir = mkdtempSync(join(tmpdir(), 'aip-bench-redis-'))
    for (let attempt = 1; ; attempt++) {
      const port = await freePort()
      try {
        return new BenchRedis(port, await spawnRedis(port, dir, wrapper), dir, wrapper.length > 0)
      } catch (err) {
        if (attempt >= 5) {
          rmSync(dir, { recursive: true, force: true })
          throw err
        }
      }
    }
  }

  /** `redis://127.0.0.1:<port>`. */
  get url (): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** User + system CPU of the redis-server process so far, in µs; `NaN` where /proc cannot be read. */
  cpuMicros (): number {
    try {
      const stat = readFileSync(`/proc/${String(this.#child.pid)}/stat`, 'utf8')
      // Fields after the command name (which may hold spaces) start at field 3: utime is 14, stime 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      return (Number(fields[11]) + Number(fields[12])) * 1e6 / this.#ticks
    } catch {
      return Number.NaN
    }
  }

  /** Commands Redis has run so far: the sum of `calls` of `INFO commandstats` (earlier INFO calls included). */
  async commands (): Promise<number> {
    let calls = 0
    for (const count of (await this.commandsByName()).values()) calls += count
    return calls
  }

  /** Calls per command so far (`INFO commandstats`; commands run by scripts are counted under their own name). */
  async commandsByName (): Promise<Map<string, number>> {
    const text = await inlineCommand(this.port, 'INFO commandstats')
    const counts = new Map<string, number>()
    for (const match of text.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)) counts.set(match[1] as string, Number(match[2]))
    return counts
  }

  /**
   * Under callgrind, each sample also writes redis-server's profile since the previous one (`callgrind.<pid>.<n>`,
   * as `ServerProcess.dumpWindows` does for the server processes).
   */
  dumpWindows = false
  /** Instructions counted before callgrind's last dump. */
  #dumped = 0

  /** Instructions redis-server has executed so far (all threads), when it runs under callgrind; else `undefined`. */
  async instructions (): Promise<number | undefined> {
    if (!this.#counted) return undefined
    const pid = this.#child.pid as number
    const counted = await countedInstructions(pid)
    const instructions = this.#dumped + counted
    if (this.dumpWindows) {
      // A dump starts callgrind's counts again from zero: what they held is kept here.
      await dumpProfile(pid)
      this.#dumped += counted
    }
    return instructions
  }

  /**
   * CPU and command count at one instant. With `AIP_BENCH_REDIS_COMMANDS=1` in the environment, each sample also
   * prints on stderr the calls per command since the previous sample (a scenario samples before and after its
   * measured window: the second line of a pair is the window's).
   */
  async sample (): Promise<{ cpuMicros: number, commands: number, instructions?: number }> {
    const byName = await this.commandsByName()
    if (process.env.AIP_BENCH_REDIS_COMMANDS === '1') this.#printDelta(byName)
    let commands = 0
    for (const count of byName.values()) commands += count
    const instructions = await this.instructions()
    return { cpuMicros: this.cpuMicros(), commands, ...(instructions === undefined ? {} : { instructions }) }
  }

  #printDelta (byName: Map<string, number>): void {
    const delta = [...byName].map(([name, count]): [string, number] => [name, count - (this.#previous.get(name) ?? 0)]).filter(([, count]) => count > 0)
    delta.sort((a, b) => b[1] - a[1])
    const cpu = this.cpuMicros()
    process.stderr.write(`redis-server since the previous sample: ${Math.round(cpu - this.#previousCpu)} µs of CPU; commands ${delta.map(([name, count]) => `${name}=${count}`).join(' ')}\n`)
    this.#previous = byName
    this.#previousCpu = cpu
  }

  /** Stops redis-server (SIGTERM to its pid) and removes its dir. */
  async stop (): Promise<void> {
    const child = this.#child
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      process.kill(child.pid as number, 'SIGTERM')
      await exited
    }
    rmSync(this.#dir, { recursive: true, force: true })
  }
}

/** Sends one inline command and resolves with the bulk string it answers (enough for INFO). */
async function inlineCommand (port: number, command: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let reply = ''
    socket.setEncoding('utf8')
    socket.once('error', reject)
    socket.on('data', (chunk: string) => {
      reply += chunk
      const header = reply.indexOf('\r\n')
      if (header < 0) return
      if (reply[0] !== '$') {
        socket.destroy()
        reject(new Error(`unexpected Redis reply: ${reply.slice(0, header)}`))
        return
      }
      const length = Number(reply.slice(1, header))
      if (Buffer.byteLength(reply) - header - 2 < length) return
      socket.destroy()
      resolve(reply.slice(header + 2))
    })
    socket.write(`${command}\r\n`)
  })
}

async function spawnRedis (port: number, dir: string, wrapper: readonly string[]): Promise<ChildProcess> {
  const command = [...wrapper, 'redis-server']
  // Counted (under a wrapper), Redis's own clock-driven work runs once a second instead of ten times (`hz 1`): its
  // cron (memory statistics from the allocator, expiry sampling, client checks) took 45 % of redis-server's
  // instructions in a paced window, charged to the tasks by the window's length, not by what they did.
  const hz = wrapper.length > 0 ? ['--hz', '1'] : []
  const child = spawn(command[0] as string, [...command.slice(1),
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
    '--daemonize', 'no', '--logfile', '', '--loglevel', 'notice', ...hz
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  await new Promise<void>((resolve, reject) => {
    let log = ''
    // Under callgrind it starts some 50 times slower.
    const limitMs = wrapper.length > 0 ? 120_000 : 20_000
    const timer = setTimeout(() => fail(new Error(`redis-server on port ${port} did not start within ${limitMs / 1000} s:\n${log}`)), limitMs)
    const onData = (chunk: Buffer): void => {
      log += chunk.toString()
      if (log.includes('Ready to accept connections')) done()
    }
    const onExit = (code: number | null): void => fail(new Error(`redis-server on port ${port} exited (${String(code)}):\n${log}`))
    const cleanup = (): void => {
      clearTimeout(timer)
      child.stdout?.off('data', onData)
      child.off('exit', onExit)
      child.off('error', fail)
    }
    function done (): void {
      cleanup()
      child.stdout?.resume()
      resolve()
    }
    function fail (err: Error): void {
      cleanup()
      child.kill('SIGKILL')
      reject(err)
    }
    child.stdout?.on('data', onData)
    child.once('exit', onExit)
    child.once('error', fail)
  })
  child.stderr?.resume()
  // Never leave it behind, whatever ends the benchmark.
  const kill = (): void => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') }
  process.once('exit', kill)
  child.once('exit', () => process.off('exit', kill))
  return child
}
