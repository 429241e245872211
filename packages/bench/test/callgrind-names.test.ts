import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'tap'

test('callgrind-names names generated code from the perf map and sums self costs without the calls', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aip-bench-names-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const profile = join(dir, 'callgrind.123.2')
  writeFileSync(profile, [
    'version: 1', 'positions: line', 'events: Ir', 'fl=(1) ???',
    'fn=(1) 0x0000000000001010', '0 100', 'cfn=(2) native_thing', 'calls=1 0', '0 500',
    'fn=(2)', '0 40',
    'fn=(3) 0x0000000000009999', '+1 7', ''
  ].join('\n'))
  const map = join(dir, 'perf-123.map')
  writeFileSync(map, '1000 100 JS:*encode file:///r/packages/protocol/dist/encode.js:8:27\n')
  const run = spawnSync(process.execPath, [join(import.meta.dirname, '..', 'dist', 'callgrind-names.js'), profile, map], { encoding: 'utf8' })
  t.equal(run.status, 0, run.stderr)
  const named = readFileSync(`${profile}.named`, 'utf8')
  t.match(named, /^fn=\(1\) JS:\*encode file:\/\/\/r\/packages\/protocol\/dist\/encode\.js:8:27$/m, 'generated code named after the map')
  t.match(named, /^fn=\(3\) 0x0000000000009999$/m, 'an address the map does not hold keeps its name')
  t.match(run.stdout, /147 in all/, 'the call line (500) is not self cost')
  t.match(run.stdout, /\s100\s.*JS @aip\/protocol/, 'grouped by package')
  t.match(run.stdout, /\s40\s.*native_thing/)
})
