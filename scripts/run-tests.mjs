#!/usr/bin/env node
// Runs every workspace package's tests through turbo, echoes their output, and closes with one summary line
// `N passed, N failed` summed from tap's closing lines (`# { total: N, pass: N, fail: N }`). Exits non-zero on
// any failure, on a failed task, or when no test ran at all.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'

// Two packages at a time: several suites start real servers and processes and measure nothing by wall clock, but
// on a small machine ten suites at once only make each slower and their deadlines tighter.
const args = ['run', 'test', '--continue', '--concurrency=2', '--output-logs=full', '--log-order=grouped', ...process.argv.slice(2)]
const child = spawn('turbo', args, {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', FORCE_COLOR: '0' }
})

child.on('error', (err) => {
  process.stdout.write(`cannot start turbo (${err.message}); run this through the package manager: npm test\n0 passed, 1 failed\n`)
  process.exit(1)
})

const totals = { pass: 0, fail: 0, skip: 0, todo: 0, files: 0 }
const summary = /#\s*\{\s*(total:[^}]*)\}/

createInterface({ input: child.stdout }).on('line', (line) => {
  process.stdout.write(`${line}\n`)
  const match = summary.exec(line)
  if (match === null) return
  totals.files++
  for (const pair of match[1].split(',')) {
    const [key, value] = pair.split(':').map((part) => part.trim())
    if (key in totals && key !== 'files') totals[key] += Number(value)
  }
})

child.on('close', (code, signal) => {
  const failedTask = code !== 0
  const ranNothing = totals.pass + totals.fail === 0
  if (failedTask) process.stdout.write(`turbo exited with ${signal ?? code}\n`)
  if (ranNothing) process.stdout.write('no test ran\n')
  const extra = totals.skip > 0 ? `, ${totals.skip} skipped` : ''
  // A task that failed without reporting (a crash, a coverage threshold) counts as one failure.
  const failed = totals.fail + (failedTask && totals.fail === 0 ? 1 : 0)
  process.stdout.write(`${totals.pass} passed, ${failed} failed${extra}\n`)
  process.exit(failedTask || ranNothing || totals.fail > 0 ? 1 : 0)
})
