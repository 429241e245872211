import { test } from 'tap'
import { AipProcess, runAip } from './helpers/processes.js'

test('aip serve, two aip devices and aip task, as real processes on loopback', async (t) => {
  const serve = new AipProcess(t, ['serve', '--port', '0', '--token', 'e2e-token', '--api-key', 'e2e-key', '--json'])
  const { wsUrl, httpUrl } = JSON.parse(await serve.line('stdout', /^\{/)) as { wsUrl: string, httpUrl: string }
  t.match(wsUrl, /^ws:\/\/127\.0\.0\.1:\d+\/ws\?token=e2e-token$/)

  const devices = ['alpha', 'beta'].map((id) => new AipProcess(t, ['device', '--url', wsUrl, '--id', id, '--platform', 'linux']))
  await Promise.all(devices.map((d, i) => d.line('stdout', new RegExp(`device ${['alpha', 'beta'][i] as string} registered`))))

  const done = await runAip(t, ['task', '--url', wsUrl, '--device', 'alpha', '--request', 'echo {"greeting":"hello"}', '--json'])
  t.equal(done.code, 0, 'a completed task exits 0')
  const end = JSON.parse(done.stdout) as { status: string, result: { tool: string, result: unknown } }
  t.same([end.status, end.result], ['completed', { tool: 'echo', result: { greeting: 'hello' } }])

  const failed = await runAip(t, ['task', '--url', wsUrl, '--device', 'beta', '--request', 'read_file {"path":"/etc/passwd"}'])
  t.equal(failed.code, 1, 'a failed task exits 1')
  t.match(failed.stdout, /: failed \(file access is disabled/)

  const refused = await runAip(t, ['task', '--url', wsUrl.replace('e2e-token', 'wrong'), '--device', 'alpha', '--request', 'echo'])
  t.equal(refused.code, 3, 'a refused token exits 3')
  t.match(refused.stderr, /HTTP 403/)

  const missing = await runAip(t, ['task', '--url', wsUrl, '--device', 'nobody', '--request', 'echo'])
  t.equal(missing.code, 5, 'a device that is not connected exits 5')

  const listed = await runAip(t, ['clients', '--url', httpUrl, '--api-key', 'e2e-key', '--json'])
  t.equal(listed.code, 0)
  t.same((JSON.parse(listed.stdout) as { online_clients: string[] }).online_clients.sort(), ['alpha', 'beta'])
  t.equal((await runAip(t, ['clients', '--url', httpUrl, '--api-key', 'nope'])).code, 3, 'a wrong API key exits 3')

  const info = await runAip(t, ['info', '--url', wsUrl, '--device', 'beta', '--json'])
  t.equal(info.code, 0)
  t.match(JSON.parse(info.stdout), { device_id: 'beta', platform: 'linux' })

  for (const device of devices) t.equal(await device.stop(), 0, 'a device stops cleanly on SIGINT')
  t.equal(await serve.stop(), 0, 'the server shuts down gracefully on SIGINT')
})
