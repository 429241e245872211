import { readFileSync, writeFileSync } from 'node:fs'
import { basename } from 'node:path'
import { costsByOwner, selfCosts } from './callgrind-profile.js'

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

const { self, total } = selfCosts(text)
const groups = costsByOwner(self)
process.stdout.write(`self cost by owner, ${total.toLocaleString('en')} in all:\n`)
for (const [name, cost] of [...groups].sort((a, b) => b[1] - a[1])) {
  process.stdout.write(`${cost.toLocaleString('en').padStart(14)}  ${(100 * cost / total).toFixed(2).padStart(6)} %  ${name}\n`)
}
const top = Number(process.env.CALLGRIND_NAMES_TOP ?? 60)
process.stdout.write(`self cost, ${total.toLocaleString('en')} in all:\n`)
for (const [name, cost] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  process.stdout.write(`${cost.toLocaleString('en').padStart(14)}  ${(100 * cost / total).toFixed(2).padStart(6)} %  ${name}\n`)
}
