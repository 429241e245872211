#!/usr/bin/env node
import { main } from './main.js'

const interrupted = new Promise<string>((resolve) => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve(signal))
})

const code = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  interrupted,
  env: process.env
})
process.exitCode = code
// End through process.exit(), never by the event loop running dry: a process that ends on an empty loop runs Node's
// exit-time handle clean-up, which has been seen to spin at full CPU forever (nodejs/node#47748), and a supervisor
// would wait for it. Long-running commands have closed everything by now; short ones must not wait for stray handles.
process.once('beforeExit', () => process.exit(code))
setImmediate(() => process.exit(code)).unref()
