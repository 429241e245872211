import { numberArg, print } from '../report.js'
import { resolveSeed } from '../seed.js'
import { run } from './run.js'

const seed = resolveSeed()
print(`seed=${seed}`)
const report = await run({
  seed,
  frames: numberArg('frames', 1_000_000),
  workers: numberArg('workers', 8),
  log: print
})
print(report.text)
process.exit(report.ok ? 0 : 1)
