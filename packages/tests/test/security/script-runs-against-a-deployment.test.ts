import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { test } from 'tap'
import { LOCAL_API_KEY, LOCAL_TOKEN, startLocalTarget } from '../../src/security/local.js'

const script = fileURLToPath(new URL('../../dist/security/main.js', import.meta.url))

test('the suite runs as a script against a deployment given by URL and keys, and exits 0 when all is refused', async (t) => {
  const { server } = await startLocalTarget({ clientKeys: { dev1: 'dev1-secret' } })
  t.teardown(() => server.close())
  const child = spawn(process.execPath, [
    script, '--url', `http://127.0.0.1:${server.port}`, '--token', LOCAL_TOKEN, '--api-key', LOCAL_API_KEY,
    '--client-key', 'dev1=dev1-secret', '--only', 'echo,key-role,task-result-spoof,unauthenticated-body'
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { out += chunk.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  t.equal(code, 0, out)
  t.match(out, /RESULT: PASS/)
  t.equal(out.match(/\[refused\]/g)?.length, 4, 'each attack named by --only ran')
})

test('a bad command line exits 2 and lists the attacks', async (t) => {
  const child = spawn(process.execPath, [script, '--url', 'http://127.0.0.1:1', '--only', 'nope'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  child.stderr.on('data', (chunk: Buffer) => { err += chunk.toString() })
  t.equal(await new Promise<number | null>((resolve) => child.once('exit', resolve)), 2)
  t.match(err, /unknown attack "nope"\nattacks: slow-reader, echo,/)
})
