// Starts a real redis-server for a test file: on a free 127.0.0.1 port, in a temp dir, nothing persisted, stopped by
// its pid. When redis-server is missing it is installed with apt-get as root; otherwise the file is skipped, loudly.
// (Shared by every package whose tests need Redis.)
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** The Debian package that provides redis-server. */
export const REDIS_PACKAGE = 'redis-server'

/** A redis-server started for a test. */
export interface RedisServer {
  /** Its port on 127.0.0.1 (the same after a restart). */
  readonly port: number
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string
  /** The pid of the running server, or `undefined` while it is stopped. */
  readonly pid: number | undefined
  /** Stops the server (SIGTERM to its pid) and resolves once it has exited. Idempotent. */
  stop: () => Promise<void>
  /** Starts it again on the same port (after `stop`), resolving once it accepts connections. */
  start: () => Promise<void>
  /** Stops it for good and removes its temp dir. */
  dispose: () => Promise<void>
}

/** Where to look for redis-server and whether installing it is allowed; the defaults are this machine's. */
export interface EnsureOptions {
  /** The program to run. Default `redis-server`. */
  binary?: string
  /** Whether this process runs as root (and may use apt-get). Default: from `process.getuid()`. */
  root?: boolean
}

/** Whether `redis-server` runs here, installing the Debian package first when missing and running as root. */
export function ensureRedisServer (options: EnsureOptions = {}): { available: true } | { available: false, reason: string } {
  const binary = options.binary ?? 'redis-server'
  if (hasProgram(binary)) return { available: true }
  if (!(options.root ?? process.getuid?.() === 0)) {
    return { available: false, reason: `redis-server is not installed and this is not root: install the Debian package ${REDIS_PACKAGE} (apt-get install -y ${REDIS_PACKAGE})` }
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  let install = spawnSync('apt-get', ['install', '-y', REDIS_PACKAGE], { env, stdio: 'ignore', timeout: 300_000 })
  if (install.status !== 0) {
    spawnSync('apt-get', ['update'], { env, stdio: 'ignore', timeout: 300_000 })
    install = spawnSync('apt-get', ['install', '-y', REDIS_PACKAGE], { env, stdio: 'ignore', timeout: 300_000 })
  }
  if (install.status === 0 && hasProgram(binary)) return { available: true }
  return { available: false, reason: `redis-server is missing and apt-get install -y ${REDIS_PACKAGE} failed (exit ${String(install.status)})` }
}

function hasProgram (binary: string): boolean {
  return spawnSync(binary, ['--version'], { stdio: 'ignore' }).status === 0
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

/** Starts redis-server on `port`; resolves once its log says it accepts connections. */
async function spawnRedis (port: number, dir: string): Promise<ChildProcess> {
  const child = spawn('redis-server', [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    '--daemonize', 'no',
    '--logfile', '',
    '--loglevel', 'notice'
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  await new Promise<void>((resolve, reject) => {
    let log = ''
    const timer = setTimeout(() => fail(new Error(`redis-server on port ${port} did not start within 20 s:\n${log}`)), 20_000)
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
  return child
}

/**
 * Starts a redis-server on a free port of 127.0.0.1, in a fresh temp dir, with persistence off.
 * Call `stop()` in the test's teardown.
 */
export async function startRedisServer (): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'aip-redis-'))
  let child: ChildProcess | undefined
  let port = 0
  // A port found free can be taken before redis-server binds it: try a few.
  for (let attempt = 1; child === undefined; attempt++) {
    port = await freePort()
    try {
      child = await spawnRedis(port, dir)
    } catch (err) {
      if (attempt >= 5) throw err
    }
  }
  const stopChild = async (): Promise<void> => {
    const running = child
    child = undefined
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()))
    process.kill(running.pid as number, 'SIGTERM')
    await exited
  }
  const killOnExit = (): void => { if (child?.pid !== undefined) process.kill(child.pid, 'SIGKILL') }
  process.once('exit', killOnExit)
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid () { return child?.pid },
    stop: async () => {
      await stopChild()
      process.off('exit', killOnExit)
      process.once('exit', killOnExit)
    },
    start: async () => {
      if (child !== undefined) return
      child = await spawnRedis(port, dir)
    },
    dispose: async () => {
      await stopChild()
      process.off('exit', killOnExit)
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** The part of a tap test this helper uses. */
interface TapLike {
  teardown: (fn: () => unknown) => void
  plan: (n: number, reason?: string) => void
  comment: (...message: unknown[]) => void
}

/**
 * For a test file: starts a redis-server and stops it (and removes its dir) at the end, or, when redis-server
 * cannot be had, skips the whole file with a message naming the package to install, on stderr too.
 */
export async function redisServerOrSkip (t: TapLike, options: EnsureOptions = {}): Promise<RedisServer | undefined> {
  const check = ensureRedisServer(options)
  if (!check.available) {
    process.stderr.write(`\n*** SKIPPING Redis tests: ${check.reason} ***\n\n`)
    t.comment(`SKIPPED: ${check.reason}`)
    t.plan(0, check.reason)
    return undefined
  }
  const server = await startRedisServer()
  t.teardown(async () => await server.dispose())
  return server
}
