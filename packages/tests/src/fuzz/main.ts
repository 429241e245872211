import { numberArg } from '../report.js'
import { resolveSeed } from '../seed.js'
import { run } from './run.js'

const seed = resolveSeed()
console.log(`seed=${seed}`)
const report = await run({
  seed,
  frames: numberArg('frames', 1_000_000),
  workers: numberArg('workers', 8),
  log: (line) => console.log(line)
})
console.log(report.text)
process.exit(report.ok ? 0 : 1)
