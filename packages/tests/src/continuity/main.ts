import { numberArg, print } from '../report.js'
import { resolveSeed } from '../seed.js'
import { runContinuity } from './run.js'

const seed = resolveSeed()
print(`seed=${seed}`)
const report = await runContinuity({
  seed,
  durationMs: numberArg('seconds', 60) * 1000,
  devices: numberArg('devices', 6),
  resumeWindowMs: numberArg('resume-window', 10_000),
  cutEveryMs: numberArg('cut-every-ms', 1000),
  cutMinMs: numberArg('cut-min-ms', 200),
  cutMaxMs: numberArg('cut-max-ms', 2500),
  maxSteps: numberArg('max-steps', 3),
  stepMinMs: numberArg('step-min-ms', 300),
  stepMaxMs: numberArg('step-max-ms', 800),
  taskTimeoutMs: numberArg('task-timeout-ms', 60_000),
  deviceRestarts: numberArg('device-restarts', 3),
  abortShare: numberArg('abort-share', 0.1),
  continuity: !process.argv.includes('--no-continuity'),
  log: print
})
print(report.text)
process.exit(report.ok ? 0 : 1)
