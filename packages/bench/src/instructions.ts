import { execFile, spawnSync } from 'node:child_process'
import { promisify } from 'node:util'

// `--instructions`: every server process runs under valgrind's callgrind, and a window is measured in machine
// instructions executed by the server (all its threads, user space), read from the running process with
// `callgrind_control`. Unlike CPU time, the count does not depend on what else the machine is doing, nor on which
// core the process ran on or how fast it was clocked: the same code given the same work gives (nearly) the same
// count. What it leaves out is the kernel's share (the system calls' own work), which is why the time figures stay
// the bench's default.

const run = promisify(execFile)

/** Why `--instructions` cannot run here (valgrind or callgrind_control missing), or `null` when it can. */
export function callgrindMissing (): string | null {
  for (const command of ['valgrind', 'callgrind_control']) {
    const out = spawnSync(command, ['--version'], { encoding: 'utf8' })
    if (out.error !== undefined || out.status !== 0) return `${command} not found (Debian package: valgrind)`
  }
  return null
}

/**
 * The command a server runs under to be counted: callgrind, told to handle V8's generated code
 * (`--smc-check=all-non-file`: code written at run time is checked for changes), its end-of-run dump in `dir`.
 */
export function callgrindWrapper (dir: string): string[] {
  return ['valgrind', '--tool=callgrind', '--smc-check=all-non-file', '--quiet', `--callgrind-out-file=${dir}/callgrind.%p`]
}

/**
 * V8 flags of a counted server: no background threads (`--single-threaded`: collection and compilation on the main
 * thread, as the same work whenever it runs) and no memory reducer (collections started after the process has been
 * idle for some seconds: under callgrind the process is slow while clocks are not, so time-driven work would be
 * counted out of all proportion, and differently from one run to the next).
 */
export const COUNTED_V8_FLAGS: readonly string[] = ['--single-threaded', '--no-memory-reducer']

/**
 * The instructions counted so far in every thread of a process, from the text of `callgrind_control -e <pid>`
 * (a `Totals:` header, then one ` Th <n>  <count>` line per thread, counts written with thousands separators).
 * Throws when the text holds no thread line: the process is not running under callgrind.
 */
export function parseCallgrindTotals (text: string): number {
  let total = 0
  let threads = 0
  for (const match of text.matchAll(/^\s*Th\s+\d+\s+([\d,]+)\s*$/gm)) {
    total += Number((match[1] as string).replaceAll(',', ''))
    threads++
  }
  if (threads === 0) throw new Error(`no callgrind counts in: ${JSON.stringify(text.slice(0, 200))}`)
  return total
}

/** The instructions process `pid` (running under callgrind) has executed so far, all threads. */
export async function countedInstructions (pid: number): Promise<number> {
  const { stdout } = await run('callgrind_control', ['-e', String(pid)], { encoding: 'utf8' })
  return parseCallgrindTotals(stdout)
}

/** Makes process `pid` (running under callgrind) write its profile since its last dump, and count from zero again. */
export async function dumpProfile (pid: number): Promise<void> {
  await run('callgrind_control', ['-d', String(pid)], { encoding: 'utf8' })
}
