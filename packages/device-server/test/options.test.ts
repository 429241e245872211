import { test } from 'tap'
import { DEFAULT_MAX_FRAME_BYTES } from '@aip/protocol'
import { DeviceServerEndpoint, InMemoryClientRegistry, InMemoryResultStore, InvalidOptionError, planAgent, type Agent, type DeviceServerOptions } from '../src/index.js'
import { resolveOptions } from '../src/internal.js'

const COUNTS = [
  'maxPayloadBytes', 'registrationTimeoutMs', 'commandTimeoutMs', 'pingIntervalMs', 'takeoverProbeMs', 'maxSessions',
  'maxQueuedFrames', 'maxResults', 'resultTtlMs'
] as const

test('every invalid count throws AIP_ERR_INVALID_OPTION naming the option', async (t) => {
  for (const name of COUNTS) {
    const invalid: unknown[] = [-1, Number.NaN, 1.5, Number.POSITIVE_INFINITY, '10']
    // `0` disables pings; every other count must be positive.
    if (name !== 'pingIntervalMs') invalid.push(0)
    for (const value of invalid) {
      const options = { [name]: value } as DeviceServerOptions
      t.throws(() => resolveOptions(options), { code: 'AIP_ERR_INVALID_OPTION', message: new RegExp(`^Invalid option ${name}: `) }, `${name}: ${String(value)}`)
    }
  }
  t.equal(resolveOptions({ pingIntervalMs: 0 }).pingIntervalMs, 0, 'pingIntervalMs 0 is allowed')
})

test('invalid secrets, agent and agent name throw AIP_ERR_INVALID_OPTION', async (t) => {
  const cases: Array<[string, DeviceServerOptions]> = [
    ['an empty token', { token: '' }],
    ['a token that is not a string', { token: 42 as unknown as string }],
    ['an empty per-client key', { clientKeys: { devA: '' } }],
    ['a per-client key that is not a string', { clientKeys: { devA: 1 as unknown as string } }],
    ['a constellation key without targets', { clientKeys: { g: { key: 'k', clientType: 'constellation' } } }],
    ['a device key with targets', { clientKeys: { d: { key: 'k', targets: ['x'] } } }],
    ['a key with an unknown role', { clientKeys: { d: { key: 'k', clientType: 'robot' as never } } }],
    ['a key object without key', { clientKeys: { d: { key: '' } } }],
    ['an agent that is not a function', { agent: 'plan' as unknown as Agent }],
    ['an empty agentName', { agentName: '' }],
    ['an agentName that is not a string', { agentName: 7 as unknown as string }]
  ]
  for (const [label, options] of cases) {
    t.throws(() => resolveOptions(options), { code: 'AIP_ERR_INVALID_OPTION' }, label)
  }
  const err = (() => { try { resolveOptions({ token: '' }) } catch (e) { return e } })()
  t.type(err, InvalidOptionError, 'an InvalidOptionError')
  t.type(err, TypeError, 'which is a TypeError')
  t.match(err, { option: 'token', expected: 'a non-empty string or null', received: "''" })
  t.match(
    (() => { try { resolveOptions({ clientKeys: { devA: '' } }) } catch (e) { return e } })(),
    { message: /^Invalid option clientKeys\.devA: / },
    'a per-client key is named by its client id'
  )
})

test('the constructor validates its options', async (t) => {
  t.throws(() => new DeviceServerEndpoint({ maxSessions: 0 }), { code: 'AIP_ERR_INVALID_OPTION' })
  t.throws(() => new DeviceServerEndpoint({ agentName: '' }), { code: 'AIP_ERR_INVALID_OPTION' })
})

test('defaults are filled in and the resolved options are frozen', async (t) => {
  const resolved = resolveOptions()
  t.equal(resolved.agent, planAgent)
  t.equal(resolved.token, null, 'no token: anyone may connect')
  t.equal(resolved.clientKeys.size, 0)
  t.same([...resolved.allowedOrigins ?? ['not a set']], [], 'no browser Origin is allowed')
  t.equal(resolved.allowedHosts, null, 'any Host')
  t.equal(resolved.maxPayloadBytes, DEFAULT_MAX_FRAME_BYTES)
  t.equal(resolved.registrationTimeoutMs, 10_000)
  t.equal(resolved.commandTimeoutMs, 120_000)
  t.equal(resolved.pingIntervalMs, 20_000)
  t.equal(resolved.takeoverProbeMs, 2_000)
  t.equal(resolved.maxSessions, 10_000)
  t.equal(resolved.maxQueuedFrames, 1_000)
  t.equal(resolved.agentName, 'HostAgent')
  t.type(resolved.registry, InMemoryClientRegistry)
  t.type(resolved.results, InMemoryResultStore)
  t.type(resolved.logger.info, 'function')
  t.equal(resolved.now, Date.now)
  t.ok(Object.isFrozen(resolved), 'frozen')
  t.throws(() => { (resolved as { token: string | null }).token = 'x' }, TypeError, 'an assignment throws')
  t.equal(resolved.token, null)
  t.same(resolveOptions({}), { ...resolved, registry: resolved.registry, results: resolved.results }, 'omitted and empty options are the same')
})

test('given options are kept, normalised where documented', async (t) => {
  const now = (): number => 42
  const agent: Agent = async () => ({ status: 'completed' })
  const registry = new InMemoryClientRegistry()
  const resolved = resolveOptions({
    agent,
    token: 't',
    clientKeys: { devA: 'k1' },
    allowedOrigins: ['https://a.example'],
    allowedHosts: ['AIP.Example:8080'],
    maxPayloadBytes: 1024,
    pingIntervalMs: 0,
    maxResults: 5,
    resultTtlMs: 10,
    agentName: 'LinuxAgent',
    registry,
    now
  })
  t.equal(resolved.agent, agent)
  t.equal(resolved.token, 't')
  t.same([...resolved.clientKeys], [['devA', { key: 'k1', clientType: 'device', targets: null }]])
  t.same([...resolved.allowedOrigins ?? []], ['https://a.example'])
  t.same([...resolved.allowedHosts ?? []], ['aip.example:8080'], 'hosts are lower-cased')
  t.equal(resolved.maxPayloadBytes, 1024)
  t.equal(resolved.agentName, 'LinuxAgent')
  t.equal(resolved.registry, registry)
  t.equal(resolved.now, now)
  const results = resolved.results as InMemoryResultStore
  for (let i = 0; i < 7; i++) results.put({ sessionId: `s${i}`, taskName: `s${i}`, requesterId: 'r', deviceId: 'd', request: 'x', status: 'completed', error: null, result: null, startedAt: 42, endedAt: 42, sizeBytes: 1 })
  t.equal(results.size, 5, 'the default store is bounded by maxResults')
  const custom = new InMemoryResultStore({ maxRecords: 1, ttlMs: 1 })
  t.equal(resolveOptions({ results: custom }).results, custom, 'a given result store is used as is')
})
