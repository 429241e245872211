import { randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import aipPlugin from 'fastify-aip'
import { AGENTS } from '../agents.js'
import { CliError, ExitCode, optionalNumber, print, type Command } from '../cli.js'

function listOf (value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string' && item !== '') : []
}

/**
 * The listen backlog of `aip serve`. Node's default (511) is short for a fleet: after a restart every device
 * reconnects within seconds, the kernel drops the SYNs a full queue cannot take, and those devices wait for TCP's
 * retransmissions (1 s, 3 s, 7 s...) on top of their own backoff.
 */
const DEFAULT_BACKLOG = 4096

/** Flags whose name is not the option's in kebab case. */
const FLAGS: Record<string, string> = { resumeWindowMs: 'resume-window' }

export const serve: Command = {
  name: 'serve',
  summary: 'Run a device-agent server (Fastify + fastify-aip) until SIGINT, or SIGTERM (which drains first).',
  usage: `Usage: aip serve [--host 127.0.0.1] [--port 5000] [--token KEY] [--api-key KEY] [--agent auto|plan]
                 [--metrics] [--dashboard] [--drain-timeout 30000] [--json]
                 [--allowed-origin ORIGIN]... [--allowed-host HOST]...
                 [--max-connections N] [--max-connections-per-address N] [--headers-timeout-ms MS] [--backlog N]
                 [--resume-window MS] [--redis redis://HOST:6379 [--node-id ID] [--redis-prefix PREFIX]]

  --host      address to listen on (default 127.0.0.1)
  --port      port to listen on (default 5000; 0 picks a free one)
  --token     shared key devices and constellations pass as ?token= (generated and printed when absent)
  --api-key   key of the HTTP API's X-API-Key header (generated and printed when absent)
  --agent     the agent that runs tasks: auto (default: a JSON command plan, or the tool the request names,
              discovered with list_tools) or plan (JSON command plans only, list_tools otherwise)
  --metrics   serve Prometheus metrics at /metrics (behind the API key: X-API-Key or Authorization: Bearer)
  --dashboard serve the live fleet page at /aip (behind the API key: log in once with it in the browser)
  --drain-timeout
              on SIGTERM, how long running tasks may finish before they are cancelled, in ms (default 30000):
              new tasks are refused at once, then every client is closed with 1012 and the reconnect hint
              (aip-drain retry-ms=5000) and reconnects elsewhere.
              SIGINT closes at once.
  --json      print the listening address and keys as one JSON line
  --allowed-origin                a browser Origin allowed to open a WebSocket (repeatable; default none:
                                  requests with an Origin header are refused, native clients send none)
  --allowed-host                  a Host header value the server answers to (repeatable; default any)
  --max-connections               connections the server holds at most (default 10000)
  --max-connections-per-address   connections one remote address may hold (default 1000; 0: no limit)
  --headers-timeout-ms            time a new connection has to send its request headers (default 10000)
  --backlog                       connections the kernel queues for the server before it accepts them (default
                                  4096; the kernel caps it at net.core.somaxconn): a fleet reconnecting at once
                                  after a restart overflows a short queue, and its devices wait for TCP retries
  --resume-window                 how long the tasks of a client whose link dropped are held for it, in ms
                                  (default 30000): a device or constellation that asked for it (our clients
                                  do) and reconnects within it carries on where it was. 0: every task fails
                                  at its client's first disconnect, as the reference server does

  --redis                         run as one node of a cluster on this Redis (redis://, or rediss:// for TLS;
                                  a password goes in the URL and is never printed): devices and constellations
                                  may then connect to any node, and tasks reach a device on another node
  --node-id                       this node's id in the cluster (default: a random one)
  --redis-prefix                  prefix of the cluster's Redis keys, so several clusters share one Redis
                                  (default aip:)

AIP_LOG_LEVEL (default warn) sets the level of the server's JSON logs on stderr.`,
  options: {
    host: { type: 'string' },
    port: { type: 'string' },
    token: { type: 'string' },
    'api-key': { type: 'string' },
    agent: { type: 'string' },
    'allowed-origin': { type: 'string', multiple: true },
    'allowed-host': { type: 'string', multiple: true },
    'max-connections': { type: 'string' },
    'max-connections-per-address': { type: 'string' },
    'headers-timeout-ms': { type: 'string' },
    backlog: { type: 'string' },
    'resume-window': { type: 'string' },
    metrics: { type: 'boolean' },
    dashboard: { type: 'boolean' },
    'drain-timeout': { type: 'string' },
    redis: { type: 'string' },
    'node-id': { type: 'string' },
    'redis-prefix': { type: 'string' }
  },
  async run (values, io) {
    const host = typeof values.host === 'string' ? values.host : '127.0.0.1'
    const port = optionalNumber(values, 'port', 5000)
    const agentName = typeof values.agent === 'string' ? values.agent : 'auto'
    const agent = AGENTS[agentName]
    if (agent === undefined) throw new CliError(`unknown agent "${agentName}" (auto, plan)`, ExitCode.Usage)
    const token = typeof values.token === 'string' ? values.token : randomBytes(16).toString('hex')
    const apiKey = typeof values['api-key'] === 'string' ? values['api-key'] : randomBytes(16).toString('hex')
    const metrics = values.metrics === true
    const dashboard = values.dashboard === true
    const drainTimeoutMs = Math.round(optionalNumber(values, 'drain-timeout', 30_000))
    const limits = {
      maxConnections: optionalNumber(values, 'max-connections', 10_000, { min: 1 }),
      maxConnectionsPerAddress: optionalNumber(values, 'max-connections-per-address', 1_000),
      headersTimeoutMs: optionalNumber(values, 'headers-timeout-ms', 10_000, { min: 1 }),
      resumeWindowMs: optionalNumber(values, 'resume-window', 30_000)
    }
    for (const [name, value] of Object.entries(limits)) {
      if (!Number.isInteger(value)) throw new CliError(`--${FLAGS[name] ?? name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be an integer`, ExitCode.Usage)
    }
    const backlog = optionalNumber(values, 'backlog', DEFAULT_BACKLOG, { min: 1 })
    if (!Number.isInteger(backlog)) throw new CliError('--backlog must be an integer', ExitCode.Usage)
    const redis = redisOption(values)
    const origins = listOf(values['allowed-origin'])
    const hosts = listOf(values['allowed-host'])
    for (const origin of origins) {
      if (!/^https?:\/\/[^/\s]+$/.test(origin)) throw new CliError(`--allowed-origin must be an origin like https://console.example, got "${origin}"`, ExitCode.Usage)
    }
    // The app's own logs (JSON, pino) go to stderr at `warn` unless AIP_LOG_LEVEL says otherwise.
    const app = Fastify({ logger: { level: io.env.AIP_LOG_LEVEL ?? 'warn', stream: { write: (line: string) => io.stderr(line) } } })
    // No hook of the app concerns the WebSocket path here: its upgrades skip Fastify's routing (see fastify-aip's `upgrade`).
    await app.register(aipPlugin, { agent, token, apiKey, upgrade: 'direct', ...limits, allowedOrigins: origins, allowedHosts: hosts.length === 0 ? null : hosts, metrics, dashboard, ...(redis === undefined ? {} : { redis }) })
    app.aip.on('clientRegistered', (c) => io.stderr(`registered ${c.clientType} ${c.clientId}\n`))
    app.aip.on('clientDisconnected', (c) => io.stderr(`disconnected ${c.clientType} ${c.clientId} (${c.code})\n`))
    app.aip.on('clientAway', (c) => io.stderr(`away ${c.clientType} ${c.clientId} (${c.code}): its tasks are held for ${c.resumeWindowMs} ms\n`))
    app.aip.on('clientResumed', (c) => io.stderr(`resumed ${c.clientType} ${c.clientId} after ${c.awayMs} ms\n`))
    app.aip.on('taskEnd', (t) => io.stderr(`task ${t.sessionId} on ${t.deviceId}: ${t.status}${t.error === null ? '' : ` (${t.error})`}\n`))
    try {
      await app.listen({ host, port, backlog })
    } catch (err) {
      throw new CliError(`cannot listen on ${host}:${port}: ${(err as Error).message}`, ExitCode.Refused)
    }
    const address = app.server.address()
    const actualPort = typeof address === 'object' && address !== null ? address.port : port
    const wsUrl = `ws://${host}:${actualPort}/ws?token=${token}`
    const httpUrl = `http://${host}:${actualPort}`
    const metricsUrl = metrics ? `${httpUrl}/metrics` : null
    const dashboardUrl = dashboard ? `${httpUrl}/aip` : null
    const nodeId = app.aip.options.cluster?.nodeId ?? null
    print(io, values.json === true, { wsUrl, httpUrl, token, apiKey, metricsUrl, dashboardUrl, nodeId }, () => [
      `AIP server listening on ${httpUrl}`,
      `  devices and constellations: ${wsUrl}`,
      `  HTTP API key (X-API-Key):   ${apiKey}`,
      ...(metricsUrl === null ? [] : [`  Prometheus metrics:         ${metricsUrl}`]),
      ...(dashboardUrl === null ? [] : [`  dashboard:                  ${dashboardUrl}`]),
      ...(nodeId === null ? [] : [`  cluster node:               ${nodeId} (state: ${app.aip.options.cluster?.state ?? 'unknown'})`])
    ].join('\n'))
    const signal = await io.interrupted
    if (signal === 'SIGTERM') {
      // A deploy: no new task, the running ones finish (up to the deadline), then clients reconnect elsewhere.
      io.stderr(`${signal}: draining (up to ${drainTimeoutMs} ms), then shutting down\n`)
      const { finished, cancelled } = await app.aip.drain({ deadlineMs: drainTimeoutMs })
      io.stderr(`drained: ${finished} task(s) finished, ${cancelled} cancelled\n`)
    } else {
      io.stderr(`${signal}: shutting down\n`)
    }
    await app.close()
    return ExitCode.Ok
  }
}

/** The plugin's `redis` option from `--redis`, `--node-id` and `--redis-prefix`; the URL is never echoed. */
function redisOption (values: Record<string, unknown>): { url: string, nodeId?: string, keyPrefix?: string } | undefined {
  const url = values.redis
  const nodeId = values['node-id']
  const keyPrefix = values['redis-prefix']
  if (url === undefined) {
    if (nodeId !== undefined || keyPrefix !== undefined) throw new CliError('--node-id and --redis-prefix need --redis', ExitCode.Usage)
    return undefined
  }
  let parsed: URL | undefined
  try { parsed = typeof url === 'string' ? new URL(url) : undefined } catch {}
  if (parsed === undefined || (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')) {
    throw new CliError('--redis must be a redis:// or rediss:// URL', ExitCode.Usage)
  }
  if (nodeId === '' || keyPrefix === '') throw new CliError('--node-id and --redis-prefix must not be empty', ExitCode.Usage)
  return {
    url: url as string,
    ...(typeof nodeId === 'string' ? { nodeId } : {}),
    ...(typeof keyPrefix === 'string' ? { keyPrefix } : {})
  }
}
