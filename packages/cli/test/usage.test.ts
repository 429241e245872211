import { test } from 'tap'
import { COMMANDS, ExitCode, main, type Io } from '../src/index.js'

function io (): Io & { out: string, err: string } {
  const captured = { out: '', err: '' }
  return Object.assign(captured, {
    stdout: (text: string) => { captured.out += text },
    stderr: (text: string) => { captured.err += text },
    interrupted: new Promise<string>(() => {}),
    env: {}
  })
}

test('every command has --help, exiting 0 with its usage on stdout', async (t) => {
  for (const command of COMMANDS) {
    const out = io()
    t.equal(await main([command.name, '--help'], out), ExitCode.Ok, command.name)
    t.match(out.out, new RegExp(`^${command.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n\\nUsage: aip ${command.name}`))
  }
  const top = io()
  t.equal(await main(['--help'], top), ExitCode.Ok)
  t.match(top.out, /Commands:\n {2}serve/)
})

test('usage errors exit 2 with a message on stderr', async (t) => {
  const cases: string[][] = [[], ['bogus'], ['task', '--url', 'ws://x'], ['serve', '--unknown'], ['serve', '--port', 'abc'], ['serve', '--agent', 'nope'], ['serve', '--max-connections', '0'], ['serve', '--max-connections-per-address', '1.5'], ['serve', '--allowed-origin', 'evil.example/path']]
  for (const argv of cases) {
    const out = io()
    t.equal(await main(argv, out), ExitCode.Usage, argv.join(' ') || '(nothing)')
  }
  const missing = io()
  await main(['task', '--url', 'ws://127.0.0.1:1/ws'], missing)
  t.match(missing.err, /--device is required/)
})

test('an unreachable server exits 3', async (t) => {
  const out = io()
  t.equal(await main(['clients', '--url', 'http://127.0.0.1:1', '--api-key', 'k'], out), ExitCode.Refused)
  t.match(out.err, /cannot reach/)
})
