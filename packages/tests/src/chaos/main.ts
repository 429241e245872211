import { numberArg, print } from '../report.js'
import { resolveSeed } from '../seed.js'
import { run } from './run.js'

const seed = resolveSeed()
print(`seed=${seed}`)
const report = await run({
  seed,
  tasks: numberArg('tasks', 10_000),
  devices: numberArg('devices', 50),
  constellations: numberArg('constellations', 3),
  faultRate: numberArg('fault-rate', 0.01),
  serverRestarts: numberArg('restarts', 3),
  log: print
})
print(report.text)
process.exit(report.ok ? 0 : 1)
