import { numberArg, print } from '../report.js'
import { resolveSeed } from '../seed.js'
import { run } from './run.js'

const seed = resolveSeed()
print(`seed=${seed}`)
const report = await run({
  seed,
  devices: numberArg('devices', 2000),
  durationMs: numberArg('minutes', 10) * 60_000,
  taskEveryMs: numberArg('task-every-ms', 10_000),
  heartbeatIntervalMs: numberArg('heartbeat-ms', 2000),
  log: print
})
print(report.text)
process.exit(report.ok ? 0 : 1)
