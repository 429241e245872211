import { test } from 'tap'
import type { Result } from '@aip/protocol'
import type { Agent } from '@aip/device-server'
import { ToolRegistry, SKIPPED_TEXT, type ToolSet } from '../src/index.js'
import { silentLogger } from '@aip/resilience'
import { client, startServer } from './helpers/net.js'

/** An agent that runs the request (a JSON list of Commands) as one COMMAND and reports the Results. */
function recordingAgent (seen: Result[][]): Agent {
  return async (task, ctx) => {
    const results = await ctx.execute(JSON.parse(task.request), { timeoutMs: 5000 })
    seen.push(results)
    return { status: 'completed' }
  }
}

const calls: string[] = []
const tools: ToolSet = {
  echo: { description: 'Echoes its parameters', inputSchema: { type: 'object' }, handler: (params) => { calls.push('echo'); return params } },
  boom: { handler: () => { calls.push('boom'); throw new Error('the tool broke') } },
  slow: {
    timeoutMs: 50,
    handler: (_params, ctx) => new Promise((resolve) => {
      calls.push('slow')
      const timer = setTimeout(resolve, 5000)
      ctx.signal.addEventListener('abort', () => { clearTimeout(timer); calls.push('slow aborted') })
    })
  },
  shot: { toolType: 'data_collection', description: 'A screenshot', handler: async () => 'png' }
}

test('against our server: order, early exit, errors, timeouts, unknown tools, list_tools; every Command answered', async (t) => {
  const seen: Result[][] = []
  const server = await startServer(t, { agent: recordingAgent(seen) })
  const device = client(t, { wsUrl: server.wsUrl, clientId: 'dev1', tools, namespace: 'lab' })
  await device.start()

  calls.length = 0
  const plan = [
    { tool_name: 'echo', parameters: { n: 1 }, tool_type: 'action' },
    { tool_name: 'list_tools', parameters: { tool_type: 'action' }, tool_type: 'action' },
    { tool_name: 'echo', parameters: { n: 2 }, tool_type: 'action' }
  ]
  const one = await server.endpoint.dispatch('dev1', JSON.stringify(plan), { taskName: 'ok' })
  const record = await one.done
  t.equal(record.status, 'completed')
  const results = seen[0] as Result[]
  t.same(results.map((r) => r.status), ['success', 'success', 'success'])
  t.same(results[0]?.result, { n: 1 })
  t.same(results[2]?.result, { n: 2 }, 'in order')
  t.equal(results[0]?.namespace, 'lab')
  t.same((results[1]?.result as Array<Record<string, unknown>>).map((info) => info.tool_key), ['lab.echo', 'lab.boom', 'lab.slow'],
    'list_tools filtered by tool_type, keys <namespace>.<name>')

  calls.length = 0
  const failing = [
    { tool_name: 'echo', parameters: {}, tool_type: 'action' },
    { tool_name: 'boom', parameters: {}, tool_type: 'action' },
    { tool_name: 'echo', parameters: {}, tool_type: 'action' }
  ]
  await (await server.endpoint.dispatch('dev1', JSON.stringify(failing))).done
  const second = seen[1] as Result[]
  t.same(second.map((r) => r.status), ['success', 'failure', 'skipped'], 'early exit after the failure')
  t.equal(second[1]?.error, 'the tool broke', 'the failure carries the error text')
  t.equal(second[2]?.error, SKIPPED_TEXT)
  t.same(calls, ['echo', 'boom'], 'the skipped tool never ran')

  calls.length = 0
  await (await server.endpoint.dispatch('dev1', JSON.stringify([{ tool_name: 'slow', parameters: {}, tool_type: 'action' }]))).done
  const third = seen[2] as Result[]
  t.equal(third[0]?.status, 'failure')
  t.equal(third[0]?.error, "Tool 'slow' timed out after 50 ms")
  t.same(calls, ['slow', 'slow aborted'], 'the handler was told to stop through its signal')

  await (await server.endpoint.dispatch('dev1', JSON.stringify([{ tool_name: 'nope', parameters: {}, tool_type: 'action' }]))).done
  const fourth = seen[3] as Result[]
  t.same(fourth.map((r) => [r.status, r.error]), [['failure', "Tool 'nope' is not registered"]], 'an unknown tool is a failure, not silence')
  t.equal(seen.length, 4, 'the server was answered every time')
})

test('ToolRegistry: call ids, namespace, list_tools filters, meta tools, empty tool names', async (t) => {
  const registry = new ToolRegistry(tools, { namespace: 'ns', timeoutMs: 1000, earlyExit: true })
  t.same(registry.names, ['echo', 'boom', 'slow', 'shot'])
  const signal = new AbortController().signal
  const results = await registry.execute([
    { tool_name: 'echo', parameters: { a: 1 }, tool_type: 'action', call_id: 'c1' },
    { tool_name: '', parameters: null, tool_type: 'action', call_id: 'c2' },
    { tool_name: 'shot', parameters: null, tool_type: 'data_collection', call_id: 'c3' }
  ], { sessionId: 's', clientId: 'd', signal, logger: silentLogger })
  t.same(results, [
    { status: 'success', error: null, result: { a: 1 }, namespace: 'ns', call_id: 'c1' },
    { status: 'success', error: '', result: 'No action taken.', namespace: null, call_id: 'c2' },
    { status: 'success', error: null, result: 'png', namespace: 'ns', call_id: 'c3' }
  ])
  const infos = registry.listTools({ tool_type: 'data_collection' })
  t.same(infos, [{
    tool_key: 'ns.shot',
    tool_name: 'shot',
    title: null,
    namespace: 'ns',
    tool_type: 'data_collection',
    description: 'A screenshot',
    input_schema: null,
    output_schema: null,
    meta: null,
    annotations: null
  }])
  t.same(registry.listTools({ namespace: 'other' }), [], 'another namespace has no tools')
  t.same(registry.listTools({ remove_meta: false }).map((i) => i.tool_key).slice(-2), ['ns.list_tools', 'ns.list_tools'], 'meta tools on request')
  t.equal(registry.listTools({ remove_meta: false, tool_type: 'action' }).filter((i) => i.tool_name === 'list_tools').length, 1)

  const noEarlyExit = new ToolRegistry(tools, { namespace: 'ns', timeoutMs: 1000, earlyExit: false })
  const all = await noEarlyExit.execute([
    { tool_name: 'boom', parameters: {}, tool_type: 'action', call_id: 'a' },
    { tool_name: 'echo', parameters: {}, tool_type: 'action', call_id: 'b' }
  ], { sessionId: null, clientId: 'd', signal, logger: silentLogger })
  t.same(all.map((r) => r.status), ['failure', 'success'], 'earlyExit: false runs everything')

  const aborted = new AbortController()
  aborted.abort(new Error('session ended'))
  const none = await registry.execute([{ tool_name: 'echo', parameters: {}, tool_type: 'action', call_id: 'x' }],
    { sessionId: null, clientId: 'd', signal: aborted.signal, logger: silentLogger })
  t.same(none.map((r) => [r.status, r.error]), [['failure', "Tool 'echo' was not run: session ended"]])

  const odd = new ToolRegistry({
    cyclic: { handler: () => { const o: Record<string, unknown> = {}; o.self = o; return o } },
    nothing: { handler: () => undefined },
    stringly: { handler: () => { throw 'plain text' } }, // eslint-disable-line no-throw-literal
    empty: { handler: () => { throw new Error('') } }
  }, { namespace: 'ns', timeoutMs: 1000, earlyExit: false })
  const oddResults = await odd.execute(['cyclic', 'nothing', 'stringly', 'empty'].map((name) => ({ tool_name: name, parameters: null, tool_type: 'action' as const, call_id: null })),
    { sessionId: null, clientId: 'd', signal, logger: silentLogger })
  t.equal(oddResults[0]?.status, 'failure', 'a result that cannot be serialised is a failure')
  t.same(oddResults[1], { status: 'success', error: null, result: null, namespace: 'ns', call_id: null })
  t.equal(oddResults[2]?.error, 'plain text')
  t.equal(oddResults[3]?.error, 'Error')
})
