import type { IncomingMessage } from 'node:http'
import type { WebSocket } from '@fastify/websocket'
import type { FastifyInstance } from 'fastify'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type CounterConfiguration, type GaugeConfiguration, type MetricObjectWithValues, type MetricValueWithName } from 'prom-client'
import { setTaskMeter, type TaskMeter } from '@aip/device-server/internal'
import { keyGuard } from './access.js'
import type { AuthFailureLimiter } from './auth-limiter.js'
import type { AipDeviceServer } from './endpoint.js'
import { CheckedOption, InvalidOptionError, describeValue, resolveOptions as resolveSchema } from '@aip/resilience'
import { Type } from '@sinclair/typebox'

/** Options of the Prometheus metrics (`metrics: true` takes every default). */
export interface AipMetricsOptions {
  /** Route serving the Prometheus text format, behind the API key. `false` serves none (read `registry` yourself). Default `/metrics`. */
  path?: string | false
  /** Prefix of every metric name. Default `aip_`. */
  prefix?: string
  /** Also collect prom-client's default process metrics (CPU, memory, event loop lag) in the registry. Default `false`. */
  defaultMetrics?: boolean
  /** The prom-client `Registry` to add the metrics to (one the app already serves, say). Default: a registry of its own. */
  registry?: Registry
}

/** The metrics options after validation. */
export interface ResolvedMetricsOptions {
  readonly path: string | null
  readonly prefix: string
  readonly defaultMetrics: boolean
  readonly registry: Registry | null
}

/** The schema of {@link AipMetricsOptions}, with the defaults. */
const MetricsOptionsSchema = Type.Object({
  path: Type.Union([Type.Literal(false), Type.String({ pattern: '^/[^\\s?#]*$' })], {
    default: '/metrics', expected: 'a path that starts with "/", or false'
  }),
  prefix: Type.String({
    pattern: '^([a-zA-Z_:][a-zA-Z0-9_:]*)?$', default: 'aip_', expected: 'a Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)'
  }),
  defaultMetrics: Type.Boolean({ default: false }),
  registry: Type.Optional(CheckedOption<Registry>('a prom-client Registry', (value) => value instanceof Registry))
})

/** Validates the `metrics` option: `null` when metrics are off. Throws `AIP_ERR_INVALID_OPTION`. */
export function resolveMetricsOptions (value: unknown): ResolvedMetricsOptions | null {
  if (value === undefined || value === false) return null
  if (value !== true && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw new InvalidOptionError('metrics', 'a boolean or an object', describeValue(value))
  }
  const o = resolveSchema(MetricsOptionsSchema, value === true ? {} : value, 'metrics')
  return Object.freeze({ path: o.path === false ? null : o.path, prefix: o.prefix, defaultMetrics: o.defaultMetrics, registry: o.registry ?? null })
}

/** Every state of a node's link to the cluster store, one series each. */
const CLUSTER_STATES = ['connecting', 'ready', 'reconnecting', 'down', 'stopped'] as const

/** Seconds: task durations run from milliseconds to many minutes (an LLM loop). */
const TASK_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]
/** Seconds: a command is one tool call on the device. */
const COMMAND_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120]

/** The type of a histogram's samples: prom-client's registry writes the string (its typings declare an enum). */
const HISTOGRAM_TYPE = 'histogram' as unknown as MetricObjectWithValues<MetricValueWithName<string>>['type']
/** Nothing to collect: the samples are computed when read. */
function noCollect (): void {}

/** The observations of one label value of a {@link CopiedHistogram}: plain numbers. */
class HistogramSeries {
  readonly #bounds: readonly number[]
  /** Observations per bucket (not cumulative): `counts[i]` holds the values in `(bounds[i - 1], bounds[i]]`. */
  readonly counts: number[]
  sum = 0
  count = 0

  constructor (bounds: readonly number[]) {
    this.#bounds = bounds
    this.counts = bounds.map(() => 0)
  }

  observe (value: number): void {
    const bounds = this.#bounds
    for (let i = 0; i < bounds.length; i++) {
      if (value <= (bounds[i] as number)) {
        this.counts[i] = (this.counts[i] as number) + 1
        break
      }
    }
    this.sum += value
    this.count++
  }
}

/**
 * A Prometheus histogram with one label and a fixed set of its values, whose observations are plain additions
 * (a bucket, the sum, the count) turned into the histogram's samples only when scraped: prom-client's `observe`
 * validates and hashes the labels and looks the buckets up by their text on every call. Scraped, it reads as
 * prom-client's own histogram would (a label value appears once observed).
 */
class CopiedHistogram extends Histogram {
  readonly #name: string
  readonly #help: string
  readonly #label: string
  readonly #bounds: readonly number[]
  readonly #series = new Map<string, HistogramSeries>()

  constructor (config: { name: string, help: string, label: string, values: readonly string[], buckets: number[], registers: Registry[] }) {
    super({ name: config.name, help: config.help, labelNames: [config.label], buckets: config.buckets, registers: config.registers })
    this.#name = config.name
    this.#help = config.help
    this.#label = config.label
    this.#bounds = [...config.buckets].sort((a, b) => a - b)
    for (const value of config.values) this.#series.set(value, new HistogramSeries(this.#bounds))
  }

  /** The series of one label value (one given to the constructor). */
  series (value: string): HistogramSeries {
    return this.#series.get(value) as HistogramSeries
  }

  override async get (): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    const values: Array<MetricValueWithName<string>> = []
    const bucket = `${this.#name}_bucket`
    for (const [label, series] of this.#series) {
      if (series.count === 0) continue
      let cumulated = 0
      for (let i = 0; i < this.#bounds.length; i++) {
        cumulated += series.counts[i] as number
        values.push({ labels: { le: this.#bounds[i] as number, [this.#label]: label }, value: cumulated, metricName: bucket })
      }
      values.push({ labels: { le: '+Inf', [this.#label]: label }, value: series.count, metricName: bucket })
      values.push({ labels: { [this.#label]: label }, value: series.sum, metricName: `${this.#name}_sum` })
      values.push({ labels: { [this.#label]: label }, value: series.count, metricName: `${this.#name}_count` })
    }
    return { name: this.#name, help: this.#help, type: HISTOGRAM_TYPE, values, aggregator: 'sum', collect: noCollect }
  }

  /** What the registry reads for the text format (the same samples). */
  async getForPromString (): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    return await this.get()
  }

  override reset (): void {
    // prom-client's constructor resets too, before this class's fields exist.
    if (!(#series in this)) return
    for (const series of this.#series.values()) {
      series.counts.fill(0)
      series.sum = 0
      series.count = 0
    }
  }
}

/** Where the metrics are read: the endpoint, its WebSocket route, and the app's HTTP server. */
export interface MetricsSource {
  readonly fastify: FastifyInstance
  readonly endpoint: AipDeviceServer
  /** The plugin's WebSocket route. */
  readonly wsPath: string
  /** Required by the route (resolvePluginOptions checks it). */
  readonly apiKey: string | null
  /** Counts refused keys on the route; an address it refuses gets 429. `null`: no limit. */
  readonly authLimiter?: AuthFailureLimiter | null
}

/**
 * The plugin's Prometheus metrics: counters fed by the endpoint's events and by the sockets of the WebSocket
 * route, gauges read when scraped. No label carries a client id: the cardinality stays fixed however many
 * devices connect. Returns the function that detaches every listener.
 */
export function installMetrics (source: MetricsSource, options: ResolvedMetricsOptions): () => void {
  const { fastify, endpoint, wsPath, apiKey } = source
  const registry = options.registry ?? new Registry()
  const registers = [registry]
  const name = (suffix: string): string => `${options.prefix}${suffix}`
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: options.prefix })

  const stat = <K extends 'connections' | 'sessions' | 'pendingDispatches' | 'queuedFrames'>(key: K) =>
    function collect (this: Gauge) { this.set(endpoint.stats()[key]) }
  // Read when scraped: nothing to count on the hot paths.
  const gauge = (config: GaugeConfiguration<string>): Gauge => new Gauge({ ...config, registers })
  gauge({ name: name('connections'), help: 'Open WebSocket connections, registered or not', collect: stat('connections') })
  gauge({ name: name('sessions_running'), help: 'Tasks running now', collect: stat('sessions') })
  gauge({ name: name('dispatches_pending'), help: 'Tasks dispatched to devices and not taken up yet', collect: stat('pendingDispatches') })
  gauge({ name: name('frames_queued'), help: 'Frames received and waiting to be handled, over every connection', collect: stat('queuedFrames') })
  const link = endpoint.options.cluster
  if (link !== null) {
    // A cluster: this node's id (an info metric), the state of its link to the store, and the live nodes.
    gauge({ name: name('cluster_node_info'), help: 'This node of the cluster (always 1), labelled with its node id', labelNames: ['node_id'], collect () { this.set({ node_id: link.nodeId }, 1) } })
    gauge({
      name: name('cluster_state'),
      help: 'State of this node\'s link to the cluster store (Redis): 1 for the current state, 0 for the others',
      labelNames: ['state'],
      collect () { for (const state of CLUSTER_STATES) this.set({ state }, link.state === state ? 1 : 0) }
    })
    gauge({
      name: name('cluster_nodes'),
      help: 'Live nodes of the cluster (read from the store when scraped; unchanged while it cannot be reached)',
      async collect () {
        if (link.state !== 'ready') return
        try { this.set((await link.listNodes()).length) } catch { /* the store went away meanwhile: keep the last figure */ }
      }
    })
  }
  gauge({
    name: name('away_clients'),
    help: 'Clients away: their connection dropped and their resume window runs (their tasks wait for them)',
    collect () { this.set(endpoint.stats().awayClients) }
  })
  gauge({ name: name('draining'), help: '1 while the server drains before a restart, else 0', collect () { this.set(endpoint.stats().draining ? 1 : 0) } })
  gauge({
    name: name('clients'),
    help: 'Registered clients by type',
    labelNames: ['type'],
    collect () {
      let devices = 0
      let constellations = 0
      for (const client of endpoint.listClients()) {
        if (client.clientType === 'device') devices++
        else constellations++
      }
      this.set({ type: 'device' }, devices)
      this.set({ type: 'constellation' }, constellations)
    }
  })

  const registrations = new Counter({ name: name('registrations_total'), help: 'Registrations accepted, by client type', labelNames: ['type'], registers })
  const refusals = new Counter({
    name: name('registration_refusals_total'),
    help: 'Connections refused, by reason (an upgrade without valid credentials, or a REGISTER refused)',
    labelNames: ['reason'],
    registers
  })
  const disconnections = new Counter({ name: name('disconnections_total'), help: 'Registered clients gone, by type and close code', labelNames: ['type', 'code'], registers })
  // The per-task and per-frame counts are plain numbers, copied into their counters when scraped: the hot paths
  // only add one.
  const counts = { started: 0, completed: 0, failed: 0, framesIn: 0, framesOut: 0 }
  const copied = (config: CounterConfiguration<string>, read: () => Array<[string | null, number]>): Counter => new Counter({
    ...config,
    registers,
    collect () {
      this.reset()
      for (const [label, value] of read()) {
        if (label === null) this.inc(value)
        else this.inc({ [config.labelNames?.[0] as string]: label }, value)
      }
    }
  })
  copied({ name: name('tasks_started_total'), help: 'Tasks accepted' }, () => [[null, counts.started]])
  copied({ name: name('tasks_total'), help: 'Tasks ended, by outcome (completed, failed)', labelNames: ['outcome'] }, () => [['completed', counts.completed], ['failed', counts.failed]])
  copied({ name: name('frames_received_total'), help: 'WebSocket frames received on the AIP route' }, () => [[null, counts.framesIn]])
  copied({ name: name('frames_sent_total'), help: 'WebSocket frames sent on the AIP route' }, () => [[null, counts.framesOut]])
  const taskSeconds = new CopiedHistogram({ name: name('task_duration_seconds'), help: 'Task duration from its ack to its TASK_END, by outcome', label: 'outcome', values: ['completed', 'failed'], buckets: TASK_BUCKETS, registers })
  const commandSeconds = new CopiedHistogram({ name: name('command_duration_seconds'), help: 'COMMAND duration until its results, by status (ok, timeout, cancelled)', label: 'status', values: ['ok', 'timeout', 'cancelled'], buckets: COMMAND_BUCKETS, registers })
  const errors = new Counter({ name: name('errors_total'), help: 'Frames refused, by code (a decoding error code, binary_frame, too_many_frames)', labelNames: ['code'], registers })

  // Tasks and COMMANDs are told in plain arguments (no event object per task), and only add to numbers.
  const completedSeconds = taskSeconds.series('completed')
  const failedSeconds = taskSeconds.series('failed')
  const commandOk = commandSeconds.series('ok')
  const meter: TaskMeter = {
    taskStarted () { counts.started++ },
    taskEnded (failed, seconds) {
      if (failed) {
        counts.failed++
        failedSeconds.observe(seconds)
      } else {
        counts.completed++
        completedSeconds.observe(seconds)
      }
    },
    commandEnded (status, seconds) {
      if (status === 'ok') commandOk.observe(seconds)
      else commandSeconds.series(status).observe(seconds)
    }
  }
  endpoint[setTaskMeter](meter)

  const disposers = [
    endpoint.on('clientRegistered', (record) => registrations.inc({ type: record.clientType })),
    endpoint.on('clientDisconnected', (info) => disconnections.inc({ type: info.clientType, code: String(info.code) })),
    endpoint.on('registrationRefused', (event) => refusals.inc({ reason: event.reason })),
    () => { endpoint[setTaskMeter](null) },
    endpoint.on('frameRejected', (event) => errors.inc({ code: event.code }))
  ]

  // Frames of the plugin's WebSocket route only (the app may serve other WebSocket routes).
  const wss = fastify.websocketServer
  const onConnection = (socket: WebSocket, request: IncomingMessage): void => {
    if ((request.url ?? '').split('?')[0] !== wsPath) return
    socket.on('message', () => { counts.framesIn++ })
    const send = socket.send
    socket.send = function countedSend (this: WebSocket, data: unknown, options?: unknown, callback?: unknown) {
      counts.framesOut++
      return (send as (data: unknown, options?: unknown, callback?: unknown) => void).call(this, data, options, callback)
    } as WebSocket['send']
  }
  wss.on('connection', onConnection)
  disposers.push(() => wss.off('connection', onConnection))

  // Upgrades refused before any WebSocket exists (bad token, Origin, Host) never reach the endpoint.
  fastify.addHook('onResponse', (request, reply, done) => {
    if ((reply.statusCode === 401 || reply.statusCode === 403) && request.routeOptions.url === wsPath) {
      refusals.inc({ reason: reply.statusCode === 401 ? 'unauthorized upgrade' : 'forbidden upgrade' })
    }
    done()
  })

  if (options.path !== null && apiKey !== null) {
    fastify.get(options.path, { onRequest: keyGuard(apiKey, undefined, source.authLimiter ?? null), logLevel: 'warn' }, async (_request, reply) => {
      reply.header('content-type', registry.contentType)
      return await registry.metrics()
    })
  }

  return () => {
    for (const dispose of disposers.splice(0)) dispose()
    if (options.registry === null) registry.clear()
  }
}
