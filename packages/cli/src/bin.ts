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
// Long-running commands have closed everything; short ones must not wait for stray handles.
setImmediate(() => process.exit(code)).unref()
