import { fork, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { test } from 'tap'
import { callgrindMissing, callgrindWrapper, countedInstructions, parseCallgrindTotals } from '../src/instructions.js'

test('the counts of every thread are summed, thousands separators and all', async (t) => {
  const text = [
    'PID 7303: node /tmp/server.js',
    'sending command status internal to pid 7303',
    '',
    '  Totals:         Ir ',
    '   Th 1  533,057,468 ',
    '   Th 2        3,485 ',
    '   Th 3          682 ',
    ''
  ].join('\n')
  t.equal(parseCallgrindTotals(text), 533_057_468 + 3485 + 682)
})

test('a process that is not counted by callgrind is an error, not zero instructions', async (t) => {
  t.throws(() => parseCallgrindTotals('PID 42: not found\n'), /no callgrind counts/)
})

/**
 * Why callgrind cannot run here, or `false`: valgrind is installed with apt when it is missing and this is root
 * (as in CI); otherwise the test is skipped with the package to install.
 */
function callgrindOrSkip (): string | false {
  let missing = callgrindMissing()
  if (missing !== null && process.getuid?.() === 0) {
    // stdout is the TAP stream: apt's chatter goes to stderr.
    spawnSync('sh', ['-c', 'apt-get update && apt-get install -y valgrind 1>&2'], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000 })
    missing = callgrindMissing()
  }
  return missing === null ? false : `${missing}: install it (apt-get install -y valgrind) to run this test`
}

const missing = callgrindOrSkip()

// The property `--instructions` rests on: the same work, done twice, is counted (nearly) the same, however busy
// the machine is. A process under callgrind runs a fixed loop on request; two runs once the code is warm are
// compared.
test('the same work is counted the same under callgrind', { skip: missing, timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aip-bench-callgrind-test-'))
  const [wrapper, ...wrapperArgs] = callgrindWrapper(dir) as [string, ...string[]]
  const worker = 'process.on("message", (n) => { let s = 0; for (let i = 0; i < n; i++) s = (s + i * 7) % 1000003; process.send(s) }); process.send("ready")'
  const child = fork('-e', [worker], { execPath: wrapper, execArgv: [...wrapperArgs, process.execPath] })
  t.teardown(() => {
    child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })
  await once(child, 'message')
  const pid = child.pid as number
  const work = async (): Promise<number> => {
    const before = await countedInstructions(pid)
    child.send(2_000_000)
    await once(child, 'message')
    return await countedInstructions(pid) - before
  }
  // The first runs tier the code up (V8 compiles it on another thread meanwhile, which callgrind counts too).
  for (let warm = 0; warm < 3; warm++) await work()
  const first = await work()
  const second = await work()
  t.ok(first > 2_000_000, `a loop of 2,000,000 turns is counted as more than 2,000,000 instructions (${first})`)
  t.ok(Math.abs(first - second) / first < 0.02, `two runs of the same work: ${first} and ${second}`)
})
