import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

// node dist/profile-top.js <file.cpuprofile | dir> [--top n] [--by function|package]
// Prints the top self-time entries of V8 CPU profiles (those written with AIP_BENCH_CPU_PROF), summed over every
// profile given: the function (name, package/file:line) or the package that the time was spent in.

interface ProfileNode { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, hitCount?: number }
interface Profile { nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }

/** Where a script lives, short: `@aip/endpoint/dist/x.js`, `ws/lib/receiver.js`, `node:internal/...`. */
export function shortUrl (url: string): string {
  if (url === '') return ''
  const pnpm = url.lastIndexOf('/node_modules/')
  if (pnpm !== -1) return url.slice(pnpm + '/node_modules/'.length)
  const packages = url.indexOf('/packages/')
  if (packages !== -1) return url.slice(packages + '/packages/'.length)
  return url.replace(/^file:\/\//, '')
}

/** The package a script belongs to: `ws`, `fastify`, `device-server`, `node` (Node's own), `(native)`. */
export function packageOf (url: string): string {
  const short = shortUrl(url)
  if (short === '') return '(native or idle)'
  if (short.startsWith('node:')) return 'node'
  const parts = short.split('/')
  return (parts[0]?.startsWith('@') === true ? `${parts[0]}/${parts[1] ?? ''}` : parts[0]) ?? short
}

/** Self time in microseconds per key, over the profile's samples. */
export function selfTimes (profile: Profile, key: (node: ProfileNode) => string): Map<string, number> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const times = new Map<string, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i] as number)
    if (node === undefined) continue
    const k = key(node)
    times.set(k, (times.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
  return times
}

function main (): void {
  const argv = process.argv.slice(2)
  const target = argv[0]
  if (target === undefined) {
    process.stderr.write('usage: node dist/profile-top.js <file.cpuprofile | dir> [--top n] [--by function|package]\n')
    process.exit(2)
  }
  const top = argv.includes('--top') ? Number(argv[argv.indexOf('--top') + 1]) : 25
  const by = argv.includes('--by') ? argv[argv.indexOf('--by') + 1] : 'function'
  const files = target.endsWith('.cpuprofile') ? [target] : readdirSync(target).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(target, f))
  const total = new Map<string, number>()
  const idle = new Set(['(idle)', '(program)', '(garbage collector)'])
  for (const file of files) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
    const key = by === 'package'
      ? (node: ProfileNode) => idle.has(node.callFrame.functionName) ? node.callFrame.functionName : packageOf(node.callFrame.url)
      : (node: ProfileNode) => `${node.callFrame.functionName === '' ? '(anonymous)' : node.callFrame.functionName} ${shortUrl(node.callFrame.url)}${node.callFrame.url === '' ? '' : `:${node.callFrame.lineNumber + 1}`}`
    for (const [k, us] of selfTimes(profile, key)) total.set(k, (total.get(k) ?? 0) + us)
  }
  const busy = [...total].filter(([k]) => k !== '(idle)' && !k.startsWith('(idle) ')).reduce((n, [, us]) => n + us, 0)
  const rows = [...total].filter(([k]) => k !== '(idle)' && !k.startsWith('(idle) ')).sort((a, b) => b[1] - a[1]).slice(0, top)
  process.stdout.write(`${files.length} profile(s), ${(busy / 1000).toFixed(0)} ms busy (idle excluded)\n`)
  for (const [k, us] of rows) process.stdout.write(`${(100 * us / busy).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}\n`)
}

if (process.argv[1]?.endsWith('profile-top.js') === true) main()
