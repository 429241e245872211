import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

export const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin.js')

interface Teardown { teardown: (fn: () => unknown) => void }

/** A running `aip` process whose output lines are collected and awaited. */
export class AipProcess {
  readonly child: ChildProcess
  readonly stdout: string[] = []
  readonly stderr: string[] = []
  readonly exited: Promise<number | null>
  #waiters: Array<{ stream: 'stdout' | 'stderr', match: RegExp, resolve: (line: string) => void }> = []

  constructor (t: Teardown, args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    t.teardown(() => { if (this.child.exitCode === null) this.child.kill('SIGKILL') })
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: this.child[stream]! }).on('line', (line) => {
        this[stream].push(line)
        this.#waiters = this.#waiters.filter((w) => {
          if (w.stream !== stream || !w.match.test(line)) return true
          w.resolve(line)
          return false
        })
      })
    }
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)))
  }

  /** The first line of `stream` (already seen or to come) that matches. */
  line (stream: 'stdout' | 'stderr', match: RegExp): Promise<string> {
    const seen = this[stream].find((l) => match.test(l))
    if (seen !== undefined) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      this.#waiters.push({ stream, match, resolve })
      this.exited.then((code) => reject(new Error(`exited with ${String(code)} before ${String(match)}; stderr: ${this.stderr.join('\n')}`)), () => {})
    })
  }

  async stop (): Promise<number | null> {
    this.child.kill('SIGINT')
    return await this.exited
  }
}

/** Runs `aip` to completion. */
export async function runAip (t: Teardown, args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const p = new AipProcess(t, args)
  const code = await p.exited
  // Let the line readers drain.
  await new Promise((resolve) => setImmediate(resolve))
  return { code, stdout: p.stdout.join('\n'), stderr: p.stderr.join('\n') }
}
