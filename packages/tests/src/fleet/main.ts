import { numberArg, print } from '../report.js'
import { resolveSeed } from '../seed.js'
import { runFleet } from './run.js'

const seed = resolveSeed()
print(`seed=${seed}`)
const report = await runFleet({
  seed,
  durationMs: numberArg('seconds', 60) * 1000,
  devices: numberArg('devices', 6),
  cutEveryMs: numberArg('cut-every-ms', 1000),
  killEveryMs: numberArg('kill-every-ms', 4000),
  serverKills: numberArg('server-kills', 2),
  taskEveryMs: numberArg('task-every-ms', 100),
  recoveryBoundMs: numberArg('recovery-bound-ms', 10_000),
  finalTasks: numberArg('final-tasks', 30),
  log: print
})
print(report.text)
process.exit(report.ok ? 0 : 1)
