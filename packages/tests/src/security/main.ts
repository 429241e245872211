import { print } from '../report.js'
import { run } from './run.js'

const report = await run()
print(report.text)
process.exit(report.ok ? 0 : 1)
