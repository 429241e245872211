import { spawnSync } from 'node:child_process'

// CPU pinning (`--pin`): the server processes on one CPU, the load generator (this process and the workers it
// forks, which inherit its affinity) on the others. On a small machine the two otherwise share every core and the
// scheduler moves them between cores at will: how much of a server's work lands in one read or one write then
// changes from one repetition to the next, and so does its CPU per task. Both servers of a scenario get the same CPU.

/** Where each side of a run is pinned: CPU lists in `taskset -c` form. */
export interface PinPlan {
  /** The CPU of every server process (the real server, the baseline, the nodes of a cluster). */
  serverCpus: string
  /** The CPUs of the load generator and its workers. */
  loadCpus: string
}

/** The CPUs of a `taskset -c` list such as `0-3,6`, in order. */
export function parseCpuList (list: string): number[] {
  const cpus: number[] = []
  for (const part of list.trim().split(',')) {
    const [from, to = from] = part.split('-').map(Number) as [number, number?]
    if (!Number.isInteger(from) || !Number.isInteger(to) || to < from) throw new Error(`not a CPU list: ${JSON.stringify(list)}`)
    for (let cpu = from; cpu <= to; cpu++) cpus.push(cpu)
  }
  return cpus
}

/**
 * The pinning plan of this machine, or why it cannot pin: Linux with `taskset` (util-linux) and at least two CPUs
 * in this process's affinity. The server gets the last of them, the load generator the others.
 */
export function pinPlan (): PinPlan | { unavailable: string } {
  if (process.platform !== 'linux') return { unavailable: `CPU pinning needs Linux (this is ${process.platform})` }
  const out = spawnSync('taskset', ['--cpu-list', '--pid', String(process.pid)], { encoding: 'utf8' })
  if (out.error !== undefined || out.status !== 0) return { unavailable: 'CPU pinning needs taskset (Debian package util-linux)' }
  // "pid 123's current affinity list: 0,1"
  const cpus = parseCpuList(out.stdout.slice(out.stdout.lastIndexOf(':') + 1))
  if (cpus.length < 2) return { unavailable: `CPU pinning needs at least two CPUs (this process may use ${cpus.length})` }
  return { serverCpus: String(cpus[cpus.length - 1]), loadCpus: cpus.slice(0, -1).join(',') }
}

/** Pins every thread of this process (and so every process it starts later) to `cpus`; throws when taskset fails. */
export function pinSelf (cpus: string): void {
  const out = spawnSync('taskset', ['--all-tasks', '--cpu-list', '--pid', cpus, String(process.pid)], { encoding: 'utf8' })
  if (out.error !== undefined) throw out.error
  if (out.status !== 0) throw new Error(`taskset could not pin the load generator to CPUs ${cpus}: ${out.stderr.trim()}`)
}
