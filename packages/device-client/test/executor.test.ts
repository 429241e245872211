import { test } from 'tap'
import type { Command, Result } from '@aip/protocol'
import type { Agent } from '@aip/device-server'
import { InvalidOptionError, type CommandExecutor, type ExecutionContext } from '../src/index.js'
import { client, startServer } from './helpers/net.js'

function planAgent (seen: Result[][]): Agent {
  return async (task, ctx) => {
    seen.push(await ctx.execute(JSON.parse(task.request), { timeoutMs: 5000 }))
    return { status: 'completed' }
  }
}

/** A custom executor that answers every Command with its name and the session it ran in. */
class EchoExecutor implements CommandExecutor {
  readonly contexts: ExecutionContext[] = []
  status = 'warming up'
  readonly #listeners = new Set<() => void>()

  async execute (commands: readonly Command[], context: ExecutionContext): Promise<Result[]> {
    this.contexts.push(context)
    return commands.map((command) => ({
      status: 'success', error: null, result: `${command.tool_name} in ${String(context.sessionId)}`, namespace: 'custom', call_id: command.call_id ?? null
    }))
  }

  telemetry (): { customMetadata: Record<string, unknown>, supportedFeatures: string[] } {
    return { customMetadata: { executor: this.status, owner: 'executor' }, supportedFeatures: ['cli', 'custom_tools'] }
  }

  onTelemetryChange (listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  change (status: string): void {
    this.status = status
    for (const listener of this.#listeners) listener()
  }

  get listeners (): number {
    return this.#listeners.size
  }
}

test('a custom executor runs the COMMANDs with the task context and adds to the telemetry', async (t) => {
  const seen: Result[][] = []
  const server = await startServer(t, { agent: planAgent(seen) })
  const executor = new EchoExecutor()
  const device = client(t, { wsUrl: server.wsUrl, clientId: 'dev1', executor, customMetadata: { owner: 'operator' } })
  t.equal(device.executor, executor)
  await device.start()

  const info = server.endpoint.options.registry.get('dev1')?.systemInfo as Record<string, any>
  t.same(info.custom_metadata, { executor: 'warming up', owner: 'operator' }, 'merged; the option wins on the same key')
  t.ok(info.supported_features.includes('custom_tools'), 'features appended')
  t.equal(info.supported_features.filter((f: string) => f === 'cli').length, 1, 'no duplicate feature')

  const plan = [{ tool_name: 'a', parameters: {}, tool_type: 'action', call_id: 'c1' }, { tool_name: 'b', parameters: {}, tool_type: 'action', call_id: 'c2' }]
  const record = await (await server.endpoint.dispatch('dev1', JSON.stringify(plan))).done
  t.equal(record.status, 'completed')
  const results = seen[0] as Result[]
  t.same(results.map((r) => [r.result, r.namespace]), [
    [`a in ${String(record.sessionId)}`, 'custom'], [`b in ${String(record.sessionId)}`, 'custom']
  ])
  t.ok(results.every((r) => typeof r.call_id === 'string'), 'each Result echoes its call_id')
  t.equal(executor.contexts[0]?.clientId, 'dev1')
  t.type(executor.contexts[0]?.signal, AbortSignal)

  // A telemetry change is pushed to the server while registered.
  const pushed = new Promise<void>((resolve) => {
    const registry = server.endpoint.options.registry
    const timer = setInterval(() => {
      if ((registry.get('dev1')?.systemInfo as Record<string, any>).custom_metadata.executor === 'ready') { clearInterval(timer); resolve() }
    }, 10)
    t.teardown(() => clearInterval(timer))
  })
  executor.change('ready')
  await pushed
  t.pass('the server holds the pushed telemetry')

  await device.stop()
  t.equal(executor.listeners, 0, 'stop() unsubscribes from the executor')
})

test('an executor that rejects fails every Command of the COMMAND with its text', async (t) => {
  const seen: Result[][] = []
  const server = await startServer(t, { agent: planAgent(seen) })
  const executor: CommandExecutor = { execute: async () => { throw new Error('executor exploded') } }
  const device = client(t, { wsUrl: server.wsUrl, clientId: 'dev2', executor })
  await device.start()
  const plan = [{ tool_name: 'a', parameters: {}, tool_type: 'action', call_id: 'x' }, { tool_name: 'b', parameters: {}, tool_type: 'action', call_id: 'y' }]
  await (await server.endpoint.dispatch('dev2', JSON.stringify(plan))).done
  t.same(seen[0]?.map((r) => [r.status, r.error]), [['failure', 'executor exploded'], ['failure', 'executor exploded']])
  t.ok(seen[0]?.every((r) => typeof r.call_id === 'string'), 'each failure echoes its call_id')
})

test('an executor whose telemetry throws does not keep the device from registering', async (t) => {
  const server = await startServer(t, { agent: planAgent([]) })
  const executor: CommandExecutor = { execute: async () => [], telemetry: () => { throw new Error('no telemetry today') } }
  const device = client(t, { wsUrl: server.wsUrl, clientId: 'dev3', executor, customMetadata: { site: 'lab' } })
  await device.start()
  t.same((server.endpoint.options.registry.get('dev3')?.systemInfo as Record<string, any>).custom_metadata, { site: 'lab' })
})

test('the executor option is validated', async (t) => {
  const base = { wsUrl: 'ws://127.0.0.1:1/ws', clientId: 'd' }
  const err = (() => { try { client(t, { ...base, executor: {} as unknown as CommandExecutor }) } catch (err) { return err } })()
  t.ok(err instanceof InvalidOptionError, 'the shared InvalidOptionError')
  t.match(err, { code: 'AIP_ERR_INVALID_OPTION', option: 'executor', expected: 'an object with an execute function' })
  t.throws(() => client(t, { ...base, executor: { execute: async () => [], telemetry: 1 } as unknown as CommandExecutor }), /executor\.telemetry/)
  t.throws(() => client(t, { ...base, executor: { execute: async () => [] }, tools: {} }), /Invalid option tools: expected undefined when executor is given/)
  const device = client(t, { ...base })
  t.equal(device.executor, device.tools, 'without an executor, the tool map runs the COMMANDs')
})
