import { join } from 'node:path'
import { test } from 'tap'
import { AipProcess } from './helpers/processes.js'

// An `aip` process must not end by its event loop running dry: that path runs Node's exit-time handle clean-up, which
// has been seen to spin at full CPU forever (nodejs/node#47748). The preload reports which way the process ended.
const env = { NODE_OPTIONS: `--require ${join(import.meta.dirname, 'fixtures', 'exit-marker.cjs')}` }

test('a short command ends through process.exit, with its exit code', async (t) => {
  const help = new AipProcess(t, ['--help'], env)
  t.equal(await help.exited, 0)
  t.match(await help.line('stderr', /^exit-marker:/), 'exit-marker: process.exit')
  const usage = new AipProcess(t, ['bogus'], env)
  t.equal(await usage.exited, 2, 'a usage error keeps its code')
  t.match(await usage.line('stderr', /^exit-marker:/), 'exit-marker: process.exit')
})

test('aip serve stopped by SIGTERM ends through process.exit once it has closed everything', async (t) => {
  const serve = new AipProcess(t, ['serve', '--port', '0', '--token', 'exit-token', '--json'], env)
  await serve.line('stdout', /^\{/)
  serve.child.kill('SIGTERM')
  t.equal(await serve.exited, 0)
  t.match(await serve.line('stderr', /^exit-marker:/), 'exit-marker: process.exit')
})
