// Self costs of a callgrind profile (`callgrind.<pid>.<n>`), per function and per owner (V8's compiler, its
// collector, inline caches, JSON, the package of generated code): what `callgrind-names` prints, and what a counted
// window reports as its collector's and compiler's share (see the README's "Counted figures").

/**
 * Self cost (the first event, Ir) per function name: the cost lines under each `fn=`, except the line after a
 * `calls=` (the call's inclusive cost). Positions may be compressed (`+n`, `-n`, `*`); the first event follows them.
 */
export function selfCosts (text: string): { self: Map<string, number>, total: number } {
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
  return { self, total }
}

/** A rough owner of a function: V8's compiler, collector, inline caches, JSON, or the package of generated code. */
export function owner (name: string): string {
  if (name.startsWith('JS:')) {
    const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(name)
    if (pkg !== null) return `JS ${pkg[1] as string}`
    const own = /packages\/([^/]+)\//.exec(name)
    if (own !== null) return `JS @aip/${own[1] as string}`
    if (name.includes(' node:')) return 'JS node:*'
    return 'JS other'
  }
  if (name.includes('::compiler::') || name.includes('::maglev::') || name.includes('Compil')) return OWNER_COMPILER
  if (/Scaveng|Heap|Mark|Sweep|GC|RootVisitor|IterateObjectCache|ObjectVisitor|Evacuat/.test(name)) return OWNER_COLLECTOR
  if (/^Builtins_\w*IC/.test(name)) return 'V8 inline caches'
  if (/Json/.test(name)) return 'V8 JSON'
  if (/^Builtins_(Promise|PerformPromiseThen|RunMicrotasks|EnqueueMicrotask|Async|Await|Resolve|Reject|Fulfill|NewPromiseCapability)/.test(name)) return 'V8 promises'
  if (name.startsWith('Builtins_')) return 'V8 other builtins'
  if (name.startsWith('0x')) return 'unnamed'
  if (name.startsWith('node::') || name.startsWith('uv_') || name.startsWith('uv__')) return 'node and libuv'
  if (name.startsWith('v8::')) return 'V8 runtime, other'
  return 'other native'
}

export const OWNER_COMPILER = 'V8 compiler'
export const OWNER_COLLECTOR = 'V8 collector'

/** Self cost per owner (see {@link owner}). */
export function costsByOwner (self: ReadonlyMap<string, number>): Map<string, number> {
  const groups = new Map<string, number>()
  for (const [name, cost] of self) {
    const group = owner(name)
    groups.set(group, (groups.get(group) ?? 0) + cost)
  }
  return groups
}

/** The instructions of V8's collector and of its compilers in a profile's text (self costs, native code). */
export function collectorAndCompiler (text: string): { collector: number, compiler: number } {
  const groups = costsByOwner(selfCosts(text).self)
  return { collector: groups.get(OWNER_COLLECTOR) ?? 0, compiler: groups.get(OWNER_COMPILER) ?? 0 }
}
