import { readFileSync, writeFileSync } from 'node:fs'
import { basename } from 'node:path'

// `node packages/bench/dist/callgrind-names.js <callgrind.<pid>.<n>> [perf map]`: writes `<profile>.named`, the
// profile with the functions callgrind could not name (V8's generated code, `0x…`) named after V8's perf map
// (`/tmp/perf-<pid>.map`, written by a server started with `--perf-basic-prof`: kept window profiles, see the
// README's "Instruction counts"). Callgrind names an unknown function by the address where it first entered it,
// which lies inside the code object the map lists; the latest code object listed at an address wins (V8 reuses
// the space of code it freed). It also prints the functions of largest self cost (callgrind_annotate's own self
// figures put everything under `__libc_start_main` in such a profile: generated code confuses its call tracking).

interface Code { start: number, end: number, name: string }

function readMap (path: string): Code[] {
  const codes: Code[] = []
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line)
    if (match === null) continue
    const start = Number.parseInt(match[1] as string, 16)
    codes.push({ start, end: start + Number.parseInt(match[2] as string, 16), name: match[3] as string })
  }
  return codes
}

/** The name of the code at `address`: the last code object in the map that holds it. */
function namer (codes: Code[]): (address: number) => string | undefined {
  const cache = new Map<number, string | undefined>()
  return (address) => {
    if (cache.has(address)) return cache.get(address)
    let name: string | undefined
    for (let i = codes.length - 1; i >= 0; i--) {
      const code = codes[i] as Code
      if (address >= code.start && address < code.end) {
        name = code.name
        break
      }
    }
    cache.set(address, name)
    return name
  }
}

const [profile, mapArg] = process.argv.slice(2)
if (profile === undefined) {
  process.stderr.write('usage: callgrind-names <callgrind.<pid>.<n>> [perf map]\n')
  process.exit(2)
}
const pid = /^callgrind\.(\d+)/.exec(basename(profile))?.[1]
const mapPath = mapArg ?? `/tmp/perf-${pid ?? ''}.map`
const nameOf = namer(readMap(mapPath))
let named = 0
const text = readFileSync(profile, 'utf8').replace(/^(c?fn=\(\d+\) )0x([0-9a-f]+)$/gm, (line, head: string, hex: string) => {
  const name = nameOf(Number.parseInt(hex, 16))
  if (name === undefined) return line
  named++
  return `${head}${name}`
})
writeFileSync(`${profile}.named`, text)
process.stderr.write(`${named} functions named from ${mapPath}: ${profile}.named\n`)

// Self cost per function name: the cost lines under each `fn=`, except the line after a `calls=` (the call's
// inclusive cost). Positions may be compressed (`+n`, `-n`, `*`); the first event (Ir) follows them.
const names = new Map<string, string>()
const self = new Map<string, number>()
let current = ''
let skipNext = false
let total = 0
for (const line of text.split('\n')) {
  const fn = /^(c?)fn=\((\d+)\)(?: (.*))?$/.exec(line)
  if (fn !== null) {
    if (fn[3] !== undefined) names.set(fn[2] as string, fn[3])
    if (fn[1] === '') current = names.get(fn[2] as string) ?? `(${fn[2] as string})`
    continue
  }
  if (line.startsWith('calls=')) {
    skipNext = true
    continue
  }
  const first = line.charCodeAt(0)
  if (!((first >= 48 && first <= 57) || first === 43 || first === 45 || first === 42)) continue
  if (skipNext) {
    skipNext = false
    continue
  }
  const cost = Number(line.split(' ')[1] ?? 0)
  if (!Number.isFinite(cost)) continue
  total += cost
  self.set(current, (self.get(current) ?? 0) + cost)
}
/** A rough owner of a function: V8's compiler, collector, inline caches, JSON, or the package of generated code. */
function group (name: string): string {
  if (name.startsWith('JS:')) {
    const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(name)
    if (pkg !== null) return `JS ${pkg[1] as string}`
    const own = /packages\/([^/]+)\//.exec(name)
    if (own !== null) return `JS @aip/${own[1] as string}`
    if (name.includes(' node:')) return 'JS node:*'
    return 'JS other'
  }
  if (name.includes('::compiler::') || name.includes('::maglev::') || name.includes('Compil')) return 'V8 compiler'
  if (/Scaveng|Heap|Mark|Sweep|GC|RootVisitor|IterateObjectCache|ObjectVisitor|Evacuat/.test(name)) return 'V8 collector'
  if (/^Builtins_\w*IC/.test(name)) return 'V8 inline caches'
  if (/Json/.test(name)) return 'V8 JSON'
  if (/^Builtins_(Promise|PerformPromiseThen|RunMicrotasks|EnqueueMicrotask|Async|Await|Resolve|Reject|Fulfill|NewPromiseCapability)/.test(name)) return 'V8 promises'
  if (name.startsWith('Builtins_')) return 'V8 other builtins'
  if (name.startsWith('0x')) return 'unnamed'
  if (name.startsWith('node::') || name.startsWith('uv_') || name.startsWith('uv__')) return 'node and libuv'
  if (name.startsWith('v8::')) return 'V8 runtime, other'
  return 'other native'
}
const groups = new Map<string, number>()
for (const [name, cost] of self) groups.set(group(name), (groups.get(group(name)) ?? 0) + cost)
process.stdout.write(`self cost by owner, ${total.toLocaleString('en')} in all:\n`)
for (const [name, cost] of [...groups].sort((a, b) => b[1] - a[1])) {
  process.stdout.write(`${cost.toLocaleString('en').padStart(14)}  ${(100 * cost / total).toFixed(2).padStart(6)} %  ${name}\n`)
}
const top = Number(process.env.CALLGRIND_NAMES_TOP ?? 60)
process.stdout.write(`self cost, ${total.toLocaleString('en')} in all:\n`)
for (const [name, cost] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  process.stdout.write(`${cost.toLocaleString('en').padStart(14)}  ${(100 * cost / total).toFixed(2).padStart(6)} %  ${name}\n`)
}
