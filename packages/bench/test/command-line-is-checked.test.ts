import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { test } from 'tap'

const RUN = join(import.meta.dirname, '..', 'dist', 'run.js')
const bench = (...args: string[]) => spawnSync(process.execPath, [RUN, ...args], { encoding: 'utf8', timeout: 60_000 })

test('a mistyped command line exits 2 with the usage before any scenario runs', async (t) => {
  for (const [args, message] of [
    [['--bogus'], /Unknown option '--bogus'/],
    [['--reps', '0'], /--reps must be a positive integer, got "0"/],
    [['--scale-devices', 'many'], /--scale-devices must be a positive integer/],
    [['--only', 'no such scenario'], /no scenario matches --only "no such scenario"; the scenarios:\n {2}throughput, 1 constellation\n/],
    [['--instructions', '--scale'], /--instructions measures the per-task and connect scenarios, not the scale one/],
    [['--warmup-tasks', '100'], /--warmup-tasks sets the warm-up of the counted light load: it needs --instructions/],
    [['--instructions', '--warmup-tasks', '0'], /--warmup-tasks must be a positive integer, got "0"/],
    [['--collect-first'], /--collect-first sets the windows of the counted Redis scenarios: it needs --instructions/]
  ] as const) {
    const run = bench(...args)
    t.equal(run.status, 2, args.join(' '))
    t.match(run.stderr, message)
    t.match(run.stderr, /usage: pnpm bench/)
    t.equal(run.stdout, '', 'no scenario ran')
  }
})

test('--help prints the usage and exits 0', async (t) => {
  const run = bench('--help')
  t.equal(run.status, 0)
  t.match(run.stdout, /^usage: pnpm bench .*\n(.*\n)* {2}--only parts/)
})
