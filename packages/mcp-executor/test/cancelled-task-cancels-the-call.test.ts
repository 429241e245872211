import { test } from 'tap'
import type { Result } from '@aip/protocol'
import { executor, startFleet } from './helpers/fleet.js'
import { startNotesServer } from './helpers/http-server.js'

test('cancelling a task on the server cancels its running MCP call; the MCP server observes it', async (t) => {
  const notes = await startNotesServer(t)
  const mcp = executor(t, { servers: { notes: { url: notes.url } } })
  const { app, constellation } = await startFleet(t, mcp)

  const started = notes.nextWait()
  const task = constellation.sendTaskToDevice('mcp-device', {
    request: JSON.stringify([{ tool_name: 'wait', parameters: { label: 'long job' } }]), timeoutMs: 30_000
  })
  const call = await started
  t.equal(call.label, 'long job', 'the MCP call is running')
  const running = app.aip.sessions.list()
  t.equal(running.length, 1)
  const ended = new Promise<void>((resolve) => app.aip.sessions.on('change', (change) => { if (change.type === 'ended') resolve() }))
  t.ok(app.aip.sessions.cancel((running[0] as { sessionId: string }).sessionId), 'the server cancels the session')

  const reason = await call.cancelled
  t.match(reason, /ended/, 'the MCP server got notifications/cancelled with the reason')
  const end = await task
  t.equal(end.status, 'failed', 'the requester is told')
  await ended
  t.same(mcp.servers().map((s) => s.status), ['up'], 'a cancelled call leaves the server connected')
})

test('a call past its deadline fails with a timeout, and the MCP server observes the cancellation', async (t) => {
  const notes = await startNotesServer(t)
  const mcp = executor(t, { servers: { notes: { url: notes.url, timeoutMs: 300 } } })
  const { constellation } = await startFleet(t, mcp)
  const started = notes.nextWait()
  const end = await constellation.sendTaskToDevice('mcp-device', {
    request: JSON.stringify([{ tool_name: 'wait', parameters: { label: 'too long' } }]), timeoutMs: 30_000
  })
  const results = ((end.result as Array<{ result: Result[] }>)[0] as { result: Result[] }).result
  t.same(results.map((r) => [r.status, r.error, r.namespace]), [['failure', "Tool 'notes.wait' timed out after 300 ms", 'notes']])
  t.match(await (await started).cancelled, /timed out after 300 ms/, 'the server was told why')
  const next = await constellation.sendTaskToDevice('mcp-device', {
    request: JSON.stringify([{ tool_name: 'add_note', parameters: { text: 'after the timeout' } }]), timeoutMs: 30_000
  })
  t.equal(next.status, 'completed', 'the server still serves')
})
