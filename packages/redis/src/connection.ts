import { Command, Redis } from 'ioredis'
import { ClosedError, InvalidOptionError, RedisCommandError, RedisUnavailableError } from './errors.js'
import { checkMs, describe, Keys, optionCount, optionMs, parsePrefix } from './keys.js'
import { silentLogger } from './logger.js'
import type { Logger } from './logger.js'

/**
 * The state of a {@link RedisConnection}:
 * - `connecting`: opened, not ready yet;
 * - `ready`: commands are sent;
 * - `reconnecting`: the connection dropped and is being re-established (fewer than `downAfterFailures` attempts
 *   have failed);
 * - `down`: `downAfterFailures` attempts or more have failed in a row; attempts go on, with capped backoff;
 * - `closed`: `close()` was called.
 *
 * In every state but `ready`, operations fail at once with {@link RedisUnavailableError} (or
 * {@link ClosedError} once closed): nothing is queued in memory while Redis is away.
 */
export type RedisConnectionState = 'connecting' | 'ready' | 'reconnecting' | 'down' | 'closed'

/** The last error the connection saw. */
export interface RedisLastError {
  /** The error's `code` (`ECONNREFUSED`, `ETIMEDOUT`, ...), or `null` when it has none. */
  readonly code: string | null
  readonly message: string
  /** Milliseconds since the epoch. */
  readonly at: number
}

/** A snapshot of a connection's health, for a health endpoint. */
export interface RedisHealth {
  readonly state: RedisConnectionState
  /** When the connection entered this state, in milliseconds since the epoch. */
  readonly since: number
  /** Connection attempts that failed since the connection was last ready. */
  readonly failedAttempts: number
  /** The last connection or command error, or `null`. Kept after recovery, so a probe can show what happened. */
  readonly lastError: RedisLastError | null
}

/** Options of {@link RedisConnection}. */
export interface RedisConnectionOptions {
  /**
   * Where Redis is: `redis://[[user]:password@]host[:port][/db]`, or `rediss://...` for TLS. Credentials and TLS
   * come through the URL. Default `redis://127.0.0.1:6379`.
   */
  url?: string
  /**
   * Prefix of every key and channel, so several clusters (or tests) share one Redis. A `:` is appended when
   * missing. Default `aip:`.
   */
  keyPrefix?: string
  /** A command not answered in this time fails with {@link RedisUnavailableError}. Default 2000. */
  commandTimeoutMs?: number
  /** A connection attempt not established in this time fails (and is retried). Default 2000. */
  connectTimeoutMs?: number
  /** Longest wait between two reconnection attempts (the backoff doubles from 50 ms up to this). Default 2000. */
  maxReconnectDelayMs?: number
  /** Failed attempts in a row after which the state is `down` instead of `reconnecting`. Default 3. */
  downAfterFailures?: number
  /** A pino-style logger. Default: silent. */
  logger?: Logger
}

/** The options of {@link RedisConnection}, checked, with their defaults. */
export interface ResolvedRedisConnectionOptions {
  readonly url: string
  readonly keyPrefix: string
  readonly commandTimeoutMs: number
  readonly connectTimeoutMs: number
  readonly maxReconnectDelayMs: number
  readonly downAfterFailures: number
}

/** Options of {@link RedisConnection.waitReady}. */
export interface WaitReadyOptions {
  /** Give up after this time, with {@link RedisUnavailableError}. Default 5000. */
  timeoutMs?: number
  signal?: AbortSignal
}

type StateListener = (health: RedisHealth) => void
type MessageListener = (message: string) => void

interface Subscription {
  readonly onMessage: MessageListener
  readonly onSubscribed: (() => void) | undefined
}

/** Redis error codes (the first word of an error answer) that mean "not available now", not "wrong data". */
const UNAVAILABLE_REPLIES = ['LOADING', 'READONLY', 'MASTERDOWN', 'CLUSTERDOWN', 'TRYAGAIN', 'BUSY', 'NOREPLICAS']

/**
 * A script or function call (`EVALSHA`, `FCALL`) written as it was built: its RESP text made once
 * ({@link encodeCommand}), from arguments that are already strings and numbers. ioredis flattens a command's
 * arguments again (`Array.flat`), then builds its text from five pieces per argument: a few thousand instructions
 * per call on a node's task path, where a mailbox append carries a frame or a task record. Its timeout is kept by
 * the connection's {@link CommandDeadlines}.
 */
class EncodedCommand extends Command {
  readonly #text: string
  readonly #deadlines: CommandDeadlines
  /** When the command times out (`performance.now()` clock); set when it is written. */
  due = 0

  constructor (name: string, args: Array<string | number>, text: string, deadlines: CommandDeadlines) {
    super(name, [], { replyEncoding: 'utf8' })
    // What ioredis' tracing and errors show of a command.
    this.args = args
    this.#text = text
    this.#deadlines = deadlines
  }

  override toWritable (): string {
    return this.#text
  }

  /** Called by the client when it writes the command, with its `commandTimeout` (the connection's). */
  override setTimeout (ms: number): void {
    this.#deadlines.add(this, ms)
  }
}

/**
 * The timeouts of one connection's {@link EncodedCommand}s, with one timer for all: they share the connection's
 * timeout and Redis answers them in order, so the oldest one not answered is the first due. ioredis arms a timer per
 * command and clears it at the answer: with one command in flight at a time, Node makes a timer list and drops it
 * again for every command.
 */
class CommandDeadlines {
  /** Commands written, oldest first; answered ones leave from the front. */
  readonly #waiting: EncodedCommand[] = []
  #timer: NodeJS.Timeout | null = null

  /** Starts the timeout of `command`, written now, of `ms` milliseconds. */
  add (command: EncodedCommand, ms: number): void {
    const waiting = this.#waiting
    while (waiting.length > 0 && (waiting[0] as EncodedCommand).isSettled) waiting.shift()
    command.due = performance.now() + ms
    waiting.push(command)
    if (this.#timer === null) this.#arm(ms)
  }

  #arm (ms: number): void {
    // Unreferenced: a command waits on its socket, which keeps the process alive while it is open.
    this.#timer = setTimeout(this.#expire, ms)
    this.#timer.unref()
  }

  readonly #expire = (): void => {
    this.#timer = null
    const now = performance.now()
    const waiting = this.#waiting
    while (waiting.length > 0) {
      const oldest = waiting[0] as EncodedCommand
      if (!oldest.isSettled) {
        if (oldest.due > now) break
        oldest.reject(new Error('Command timed out'))
      }
      waiting.shift()
    }
    if (waiting.length > 0) this.#arm(Math.max(1, (waiting[0] as EncodedCommand).due - now))
  }
}

/** Commands whose calls with plain arguments (strings and numbers, no callback) are written by {@link EncodedCommand}. */
const ENCODED_ONCE = ['evalsha', 'fcall', 'set', 'publish'] as const

/**
 * The RESP text of command `name` with `args`, or `null` when an argument is not a string or a number (a Buffer,
 * an array, a callback: left to ioredis). Built by concatenation, one piece per argument: the socket's write
 * flattens the text once, where an array of parts and its `join` cost a script call about 10 k instructions more
 * (bench README, "Cross node, round nine: a lean lane for script calls, measured").
 */
export function encodeCommand (name: string, args: readonly unknown[]): string | null {
  let text = `*${args.length + 1}\r\n$${name.length}\r\n${name}\r\n`
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    let value: string
    if (typeof arg === 'string') value = arg
    else if (typeof arg === 'number' && !(Number.isInteger(arg) && !Number.isSafeInteger(arg))) value = String(arg)
    else return null
    text += `$${Buffer.byteLength(value)}\r\n${value}\r\n`
  }
  return text
}

/** Makes the command client write its script and function calls, `SET`s and `PUBLISH`es with {@link EncodedCommand}. */
function encodeOnce (client: Redis): void {
  const deadlines = new CommandDeadlines()
  const methods = client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>
  for (const name of ENCODED_ONCE) {
    const original = methods[name] as (...args: unknown[]) => Promise<unknown>
    methods[name] = (...args: unknown[]): Promise<unknown> => {
      const text = encodeCommand(name, args)
      if (text === null) return original.apply(client, args)
      return client.sendCommand(new EncodedCommand(name, args as Array<string | number>, text, deadlines)) as Promise<unknown>
    }
  }
}

function parseOptions (options: RedisConnectionOptions): ResolvedRedisConnectionOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'an object', describe(options))
  const url = options.url ?? 'redis://127.0.0.1:6379'
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) {
    throw new InvalidOptionError('url', 'a redis:// or rediss:// URL', typeof url === 'string' ? 'another URL' : describe(url))
  }
  return Object.freeze({
    url,
    keyPrefix: parsePrefix(options.keyPrefix),
    commandTimeoutMs: optionMs('commandTimeoutMs', options.commandTimeoutMs, 2000),
    connectTimeoutMs: optionMs('connectTimeoutMs', options.connectTimeoutMs, 2000),
    maxReconnectDelayMs: optionMs('maxReconnectDelayMs', options.maxReconnectDelayMs, 2000, 50),
    downAfterFailures: optionCount('downAfterFailures', options.downAfterFailures, 3)
  })
}

/**
 * The node's connections to Redis: one for commands and, opened on the first `subscribe`, one in subscriber mode
 * for doorbells. Reconnects on its own, forever, with capped backoff, until `close()`.
 *
 * Operations fail fast while Redis is away: nothing is queued in memory, every operation of this package rejects
 * at once with {@link RedisUnavailableError} (`AIP_ERR_REDIS_UNAVAILABLE`), and works again once the state is back
 * to `ready`. Subscriptions are restored on every reconnection.
 *
 * @example
 * ```ts
 * const redis = new RedisConnection({ url: 'redis://127.0.0.1:6379', keyPrefix: 'prod:' })
 * await redis.waitReady()
 * app.get('/health', () => redis.health())
 * ```
 */
export class RedisConnection {
  /** The checked options. */
  readonly options: ResolvedRedisConnectionOptions
  /** Key names under this connection's prefix. */
  readonly keys: Keys
  readonly #client: Redis
  #subscriber: Redis | undefined
  readonly #channels = new Map<string, Set<Subscription>>()
  readonly #stateListeners = new Set<StateListener>()
  readonly #log: Logger
  #state: RedisConnectionState = 'connecting'
  #since = Date.now()
  #failedAttempts = 0
  #lastError: RedisLastError | null = null

  /**
   * Opens the connection (asynchronously: use {@link waitReady} to wait for it).
   * @throws InvalidOptionError when an option is out of range.
   */
  constructor (options: RedisConnectionOptions = {}) {
    this.options = parseOptions(options)
    this.keys = new Keys(this.options.keyPrefix)
    this.#log = options.logger ?? silentLogger
    this.#client = this.#open(false)
    this.#client.on('ready', () => {
      this.#failedAttempts = 0
      this.#setState('ready')
    })
    this.#client.on('close', () => {
      if (this.#state === 'closed') return
      if (this.#state === 'ready') {
        this.#log.warn({ url: this.#safeUrl() }, 'redis connection lost, reconnecting')
        this.#setState('reconnecting')
        return
      }
      this.#failedAttempts++
      this.#setState(this.#failedAttempts >= this.options.downAfterFailures ? 'down' : this.#state === 'connecting' ? 'connecting' : 'reconnecting')
    })
  }

  /** A snapshot of the connection's health. */
  health (): RedisHealth {
    return { state: this.#state, since: this.#since, failedAttempts: this.#failedAttempts, lastError: this.#lastError }
  }

  /**
   * Sends a PING and resolves with its round-trip time in milliseconds.
   * @throws RedisUnavailableError when Redis does not answer.
   */
  async probe (): Promise<number> {
    const started = performance.now()
    await this.run('probe', async (client) => await client.ping())
    return performance.now() - started
  }

  /**
   * Calls `listener` with the new health on every change of state. Returns the function that removes it.
   */
  onStateChange (listener: StateListener): () => void {
    this.#stateListeners.add(listener)
    return () => { this.#stateListeners.delete(listener) }
  }

  /**
   * Resolves once the connection is ready (at once if it is).
   * @throws RedisUnavailableError when it is not ready within `timeoutMs`; ClosedError once closed; the signal's
   * reason when aborted; InvalidArgumentError for a bad `timeoutMs`.
   */
  async waitReady (options: WaitReadyOptions = {}): Promise<void> {
    const timeoutMs = options.timeoutMs === undefined ? 5000 : checkMs('timeoutMs', options.timeoutMs)
    if (this.#state === 'ready') return
    if (this.#state === 'closed') throw new ClosedError()
    options.signal?.throwIfAborted()
    await new Promise<void>((resolve, reject) => {
      const done = (err?: unknown): void => {
        clearTimeout(timer)
        off()
        options.signal?.removeEventListener('abort', onAbort)
        if (err === undefined) resolve()
        else reject(err)
      }
      const onAbort = (): void => done(options.signal?.reason)
      const off = this.onStateChange(({ state }) => {
        if (state === 'ready') done()
        else if (state === 'closed') done(new ClosedError())
      })
      const timer = setTimeout(() => done(new RedisUnavailableError('waitReady', this.#state, this.#lastErrorObject())), timeoutMs)
      options.signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /**
   * Runs Redis commands for an operation of this package, with its error mapping: fails at once with
   * {@link RedisUnavailableError} when the connection is not ready, maps connection failures and timeouts to it,
   * and Redis's error answers to {@link RedisCommandError}.
   *
   * @param operation - a name for errors and logs, for example `lease.register`
   * @param work - the commands, given the command client
   */
  async run<T> (operation: string, work: (client: Redis) => Promise<T>): Promise<T> {
    if (this.#state === 'closed') throw new ClosedError()
    if (this.#state !== 'ready' || this.#client.status !== 'ready') {
      throw new RedisUnavailableError(operation, this.#state, this.#lastErrorObject())
    }
    try {
      return await work(this.#client)
    } catch (err) {
      // Our own errors (a bad argument found while reading replies) are not about Redis's availability.
      if (err instanceof TypeError || err instanceof SyntaxError || (err instanceof Error && 'code' in err && String(err.code).startsWith('AIP_ERR_'))) throw err
      if (err instanceof Error && err.name === 'ReplyError') {
        const code = err.message.split(' ', 1)[0] ?? ''
        if (!UNAVAILABLE_REPLIES.includes(code)) throw new RedisCommandError(operation, err)
      }
      this.#recordError(err)
      throw new RedisUnavailableError(operation, this.#state, err)
    }
  }

  /**
   * Holds the commands sent on the command connection from now on, and writes them together (one system call) when
   * the returned function is called. For batching several commands made at once; always call the function.
   */
  holdWrites (): () => void {
    const stream = this.#client.stream as { cork?: () => void, uncork?: () => void } | undefined
    if (this.#client.status !== 'ready' || stream === undefined || typeof stream.cork !== 'function') return () => {}
    stream.cork()
    let released = false
    return () => {
      if (released) return
      released = true
      stream.uncork?.()
    }
  }

  /**
   * Listens to a pub/sub channel (the full channel name, see {@link keys}) on the subscriber connection. The
   * subscription is restored after every reconnection; messages published while the subscriber was away are
   * lost, which is why this package uses pub/sub only to wake readers up: `onSubscribed` is called each time
   * Redis confirms the subscription (first, and after every reconnection), so the caller can read what it may
   * have missed. Returns the function that removes the listener.
   */
  subscribe (channel: string, onMessage: MessageListener, onSubscribed?: () => void): () => void {
    if (this.#state === 'closed') throw new ClosedError()
    const subscriber = this.#subscriber ?? this.#openSubscriber()
    let listeners = this.#channels.get(channel)
    if (listeners === undefined) {
      listeners = new Set()
      this.#channels.set(channel, listeners)
      if (subscriber.status === 'ready') this.#subscribeAll([channel])
    }
    const subscription: Subscription = { onMessage, onSubscribed }
    listeners.add(subscription)
    if (subscriber.status === 'ready' && listeners.size > 1) this.#subscribeAll([channel])
    return () => {
      const set = this.#channels.get(channel)
      if (set === undefined || !set.delete(subscription) || set.size > 0) return
      this.#channels.delete(channel)
      if (this.#subscriber?.status === 'ready') {
        this.#subscriber.unsubscribe(channel).catch((err: unknown) => this.#log.debug({ err, channel }, 'redis unsubscribe failed'))
      }
    }
  }

  /** Closes both connections. Pending operations reject; later ones throw {@link ClosedError}. Idempotent. */
  async close (): Promise<void> {
    if (this.#state === 'closed') return
    this.#setState('closed')
    this.#channels.clear()
    // The subscriber holds nothing to flush; the command connection says QUIT when it can (bounded by the
    // command timeout), and is cut otherwise.
    this.#subscriber?.disconnect()
    try {
      if (this.#client.status === 'ready') await this.#client.quit()
      else this.#client.disconnect()
    } catch {
      this.#client.disconnect()
    }
  }

  #open (subscriber: boolean): Redis {
    const { url, commandTimeoutMs, connectTimeoutMs, maxReconnectDelayMs } = this.options
    const client = new Redis(url, {
      // Fail fast: never hold commands in memory while Redis is away. The subscriber may queue its SUBSCRIBE.
      enableOfflineQueue: subscriber,
      maxRetriesPerRequest: subscriber ? null : 0,
      autoResendUnfulfilledCommands: false,
      autoResubscribe: false,
      ...(subscriber ? {} : { commandTimeout: commandTimeoutMs }),
      connectTimeout: connectTimeoutMs,
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times - 1, 16), maxReconnectDelayMs),
      // Reconnect after READONLY (a failover turned the primary into a replica).
      reconnectOnError: (err: Error) => err.message.startsWith('READONLY') ? 2 : false,
      lazyConnect: false
    })
    if (!subscriber) encodeOnce(client)
    client.on('error', (err: unknown) => {
      this.#recordError(err)
      this.#log.debug({ err, subscriber }, 'redis connection error')
    })
    return client
  }

  #openSubscriber (): Redis {
    const subscriber = this.#open(true)
    this.#subscriber = subscriber
    subscriber.on('ready', () => this.#subscribeAll([...this.#channels.keys()]))
    subscriber.on('message', (channel: string, message: string) => {
      const listeners = this.#channels.get(channel)
      if (listeners === undefined) return
      for (const { onMessage } of [...listeners]) {
        try {
          onMessage(message)
        } catch (err) {
          this.#log.error({ err, channel }, 'redis message listener threw')
        }
      }
    })
    return subscriber
  }

  #subscribeAll (channels: string[]): void {
    if (channels.length === 0 || this.#subscriber === undefined) return
    this.#subscriber.subscribe(...channels).then(() => {
      for (const channel of channels) {
        for (const { onSubscribed } of [...this.#channels.get(channel) ?? []]) {
          try {
            onSubscribed?.()
          } catch (err) {
            this.#log.error({ err, channel }, 'redis subscription listener threw')
          }
        }
      }
    }, (err: unknown) => {
      // The subscriber reconnects on its own and subscribes again when ready.
      this.#log.debug({ err, channels }, 'redis subscribe failed')
    })
  }

  #setState (state: RedisConnectionState): void {
    if (state === this.#state && state !== 'reconnecting' && state !== 'down' && state !== 'connecting') return
    const changed = state !== this.#state
    this.#state = state
    if (changed) this.#since = Date.now()
    const health = this.health()
    for (const listener of [...this.#stateListeners]) {
      try {
        listener(health)
      } catch (err) {
        this.#log.error({ err }, 'redis state listener threw')
      }
    }
  }

  #recordError (err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err))
    const code = (error as { code?: unknown }).code
    this.#lastError = { code: typeof code === 'string' ? code : null, message: error.message, at: Date.now() }
  }

  #lastErrorObject (): Error | undefined {
    if (this.#lastError === null) return undefined
    return Object.assign(new Error(this.#lastError.message), { code: this.#lastError.code })
  }

  #safeUrl (): string {
    try {
      const parsed = new URL(this.options.url)
      parsed.password = ''
      parsed.username = ''
      return parsed.toString()
    } catch {
      return 'redis'
    }
  }
}
