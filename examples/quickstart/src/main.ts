import { runDemo, summary } from './demo.js'

// npm run demo: a server, three devices and a constellation on 127.0.0.1, running a small release workflow.
const outcomes = await runDemo((line) => process.stdout.write(`${line}\n`))
process.stdout.write(`\n${summary(outcomes)}\n`)
const failed = outcomes.filter((o) => o.status !== 'completed')
process.stdout.write(`\n${outcomes.length - failed.length} of ${outcomes.length} tasks completed\n`)
process.exitCode = failed.length === 0 ? 0 : 1
