import { readFileSync } from 'node:fs'

// node dist/heap-diff.js <before.heapsnapshot> <after.heapsnapshot> [--per n] [--top n]
// What a heap gained between two V8 heap snapshots (those written with AIP_BENCH_HEAP_SNAPSHOT): objects counted
// and their self sizes summed per kind (the constructor of an object, the function of a closure, the node type of
// strings, arrays, code and V8's internal objects), after minus before, divided by `--per` (the devices added, for
// a figure per device).

interface Snapshot {
  snapshot: { meta: { node_fields: string[], node_types: [string[], ...unknown[]] } }
  nodes: number[]
  strings: string[]
}

/** Objects and bytes of one kind. */
export interface KindTotal { count: number, bytes: number }

/** Types whose nodes are grouped by their type alone (a string's name is its text, an array's its role). */
const GROUPED = new Set(['string', 'concatenated string', 'sliced string', 'number', 'bigint', 'code', 'array'])

/** The kind of a node: `Constructor` for an object, `closure name()`, or `(type)` for strings, code and arrays. */
export function kindOf (type: string, name: string): string {
  if (type === 'object') return name === '' ? '(object)' : name
  if (type === 'closure') return `closure ${name === '' ? '(anonymous)' : name}()`
  if (GROUPED.has(type)) return `(${type})`
  return `(${type}) ${name}`
}

/** Objects and self bytes per kind in a parsed snapshot. */
export function totals (snapshot: Snapshot): Map<string, KindTotal> {
  const fields = snapshot.snapshot.meta.node_fields
  const types = snapshot.snapshot.meta.node_types[0]
  const width = fields.length
  const typeAt = fields.indexOf('type')
  const nameAt = fields.indexOf('name')
  const sizeAt = fields.indexOf('self_size')
  const out = new Map<string, KindTotal>()
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const kind = kindOf(types[snapshot.nodes[i + typeAt] as number] ?? '?', snapshot.strings[snapshot.nodes[i + nameAt] as number] ?? '')
    const total = out.get(kind) ?? { count: 0, bytes: 0 }
    total.count++
    total.bytes += snapshot.nodes[i + sizeAt] as number
    out.set(kind, total)
  }
  return out
}

/** `after` minus `before`, per kind, largest byte gain first. */
export function diff (before: Map<string, KindTotal>, after: Map<string, KindTotal>): Array<[string, KindTotal]> {
  const kinds = new Set([...before.keys(), ...after.keys()])
  const rows: Array<[string, KindTotal]> = []
  for (const kind of kinds) {
    const a = after.get(kind) ?? { count: 0, bytes: 0 }
    const b = before.get(kind) ?? { count: 0, bytes: 0 }
    if (a.count !== b.count || a.bytes !== b.bytes) rows.push([kind, { count: a.count - b.count, bytes: a.bytes - b.bytes }])
  }
  return rows.sort((x, y) => y[1].bytes - x[1].bytes)
}

function main (): void {
  const argv = process.argv.slice(2)
  const [beforeFile, afterFile] = argv
  if (beforeFile === undefined || afterFile === undefined || beforeFile.startsWith('--') || afterFile.startsWith('--')) {
    process.stderr.write('usage: node dist/heap-diff.js <before.heapsnapshot> <after.heapsnapshot> [--per n] [--top n]\n')
    process.exit(2)
  }
  const per = argv.includes('--per') ? Number(argv[argv.indexOf('--per') + 1]) : 1
  const top = argv.includes('--top') ? Number(argv[argv.indexOf('--top') + 1]) : 30
  const read = (file: string): Map<string, KindTotal> => totals(JSON.parse(readFileSync(file, 'utf8')) as Snapshot)
  const rows = diff(read(beforeFile), read(afterFile))
  const sum = rows.reduce((n, [, t]) => n + t.bytes, 0)
  process.stdout.write(`${(sum / per).toFixed(0)} bytes gained${per === 1 ? '' : ` per unit (${per} units)`}\n`)
  for (const [kind, t] of rows.slice(0, top)) {
    process.stdout.write(`${(t.bytes / per).toFixed(0).padStart(8)} B  ${(t.count / per).toFixed(2).padStart(8)} objects  ${kind}\n`)
  }
}

if (process.argv[1]?.endsWith('heap-diff.js') === true) main()
