import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'tap'
import { parseCpuList, pinPlan } from '../src/pinning.js'
import { forkNode } from '../src/server-control.js'

const RUN = join(import.meta.dirname, '..', 'dist', 'run.js')
const plan = pinPlan()

test('a CPU list is read as taskset writes it', async (t) => {
  t.same(parseCpuList('0'), [0])
  t.same(parseCpuList(' 0,1\n'), [0, 1])
  t.same(parseCpuList('0-3,6'), [0, 1, 2, 3, 6])
  t.throws(() => parseCpuList('3-1'), /not a CPU list: "3-1"/)
  t.throws(() => parseCpuList('a'), /not a CPU list/)
})

test('the plan gives the servers the last CPU and the load generator the others', { skip: 'unavailable' in plan ? plan.unavailable : false }, async (t) => {
  if ('unavailable' in plan) return
  const own = readFileSync('/proc/self/status', 'utf8').match(/^Cpus_allowed_list:\s*(.+)$/m)?.[1] ?? ''
  const cpus = parseCpuList(own)
  t.equal(plan.serverCpus, String(cpus[cpus.length - 1]))
  t.same(parseCpuList(plan.loadCpus), cpus.slice(0, -1))
})

test('a child started with cpus runs on those CPUs only, with its IPC channel', { skip: 'unavailable' in plan ? plan.unavailable : false }, async (t) => {
  if ('unavailable' in plan) return
  const script = "process.send(require('fs').readFileSync('/proc/self/status', 'utf8').match(/^Cpus_allowed_list:\\s*(.+)$/m)[1], () => process.disconnect())"
  const dir = mkdtempSync(join(tmpdir(), 'aip-bench-pin-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const entry = join(dir, 'affinity.cjs')
  writeFileSync(entry, script)
  const child = forkNode(entry, [], [], { cpus: plan.serverCpus })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const affinity = await new Promise((resolve, reject) => {
    child.once('message', resolve)
    child.once('error', reject)
  })
  t.equal(affinity, plan.serverCpus)
  t.equal(await exited, 0, 'the child exits once it has answered')
})

test('--pin on a machine that cannot pin is refused before anything runs; where it can, the report says how', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'aip-bench-pin-out-'))
  t.teardown(() => rmSync(out, { recursive: true, force: true }))
  const run = spawnSync(process.execPath, ['--expose-gc', RUN, '--pin', '--quick', '--only', '^throughput, 1 ', '--out', out], { encoding: 'utf8', timeout: 120_000 })
  if ('unavailable' in plan) {
    t.equal(run.status, 2)
    t.match(run.stderr, `--pin: ${plan.unavailable}`)
    return
  }
  t.equal(run.status, 0, run.stderr)
  t.match(run.stdout, `servers pinned to CPU ${plan.serverCpus}, the load generator to CPU ${plan.loadCpus}`)
})
