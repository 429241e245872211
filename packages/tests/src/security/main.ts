import { run } from './run.js'

const report = await run()
console.log(report.text)
process.exit(report.ok ? 0 : 1)
