import {
  CheckedOption, InvalidArgumentError, LoggerOption, Milliseconds, TimeoutManager, TypedEmitter, describeValue,
  resolveOptions, type Logger, type Unsubscribe
} from '@aip/resilience'
import { Type } from '@sinclair/typebox'
import { NotConnectedError } from './errors.js'
import { attachExtension, type Extension } from './extensions/extension.js'
import { DEFAULT_LIFECYCLE, LifecycleState, type EndpointState, type LifecycleTable, type StateChange } from './lifecycle-state.js'
import { childLogger } from './logger.js'
import {
  AIPProtocol, bindOwner, resolveProtocolOptions, type IncomingMessage, type IncomingType, type OutgoingMessage,
  type ProtocolEvents, type ProtocolOptions, type ProtocolOwner, type ProtocolRole, type ResolvedProtocolOptions
} from './protocol/index.js'
import type { CloseInfo, Transport } from './transport.js'

/** How long `stop()` waits for the close handshakes before it drops the connections. */
const STOP_GRACE_MS = 2000

/** Options of {@link AIPEndpoint}. */
export interface EndpointOptions {
  /** pino-compatible logger. Default: silent. */
  logger?: Logger
  /** Deadline of `sendWithTimeout` / `receiveWithTimeout` when none is given, in ms. Default 120000. */
  defaultTimeoutMs?: number
  /** Extensions attached to every connection, in order. */
  extensions?: readonly Extension[]
  /** Options handed to each connection's {@link AIPProtocol} (limits, middleware). */
  protocol?: Omit<ProtocolOptions<ProtocolRole>, 'role' | 'logger'>
}

const isObject = (value: unknown): boolean => typeof value === 'object' && value !== null && !Array.isArray(value)

/** The schema of {@link EndpointOptions}, with its defaults. */
const EndpointOptionsSchema = Type.Object({
  logger: LoggerOption(),
  defaultTimeoutMs: Milliseconds({ min: 1, default: 120_000 }),
  extensions: Type.Optional(CheckedOption<readonly Extension[]>('an array of extensions', Array.isArray)),
  protocol: Type.Optional(CheckedOption<EndpointOptions['protocol']>('an object of protocol options', isObject))
})

/** The validated, frozen options of an endpoint. */
export interface ResolvedEndpointOptions {
  readonly logger: Logger
  readonly defaultTimeoutMs: number
}

/** Events of every {@link AIPEndpoint}. Subclasses add theirs. */
export interface EndpointEvents {
  /** A connection was attached; `endpointId` is its key in the connection table. */
  connected: { readonly endpointId: string | undefined }
  /** A connection closed. */
  disconnected: { readonly endpointId: string | undefined, readonly info: CloseInfo }
  /** `handleMessage` threw, or another error the endpoint could not return to a caller. */
  error: { readonly error: unknown, readonly context: string }
  /** `onDeviceDisconnected` ran for a device (the default hook emits it). */
  deviceDisconnected: { readonly deviceId: string }
  /** The lifecycle state changed (see {@link AIPEndpoint.state}). */
  stateChange: StateChange
}

/**
 * The base of every AIP endpoint (device server, device client, constellation).
 *
 * **Connections.** An endpoint holds a table of connections keyed by a string (a client id on the server, a
 * device id on the constellation, one fixed key on the device client). Each connection runs through its own
 * {@link AIPProtocol}: every decoded message goes to `handleMessage(message, key)` (in order, per connection),
 * and every extension given to `use()` (or the `extensions` option) sees every frame in and out. The methods
 * taking an optional `key` act on that connection; without a key they act on the only connection, and throw
 * `AIP_ERR_INVALID_ARGUMENT` when there are several.
 *
 * **Lifecycle.** `state` is observable (`stateChange { from, to }`), and changes only through the protected
 * `transition(to)`, checked against the subclass's {@link LifecycleTable} (default {@link DEFAULT_LIFECYCLE};
 * the server uses {@link SERVER_LIFECYCLE}). `stop()` moves to `stopped` when the table allows it.
 *
 * A subclass implements `start()` (connect or listen, then `attachConnection(transport, key)` per connection) and
 * `handleMessage()`, and overrides the hooks it needs (it is a `ReconnectableEndpoint` of `@aip/resilience`).
 * `stop()` closes every connection and leaves no timer or listener.
 */
export abstract class AIPEndpoint<
  R extends ProtocolRole = ProtocolRole,
  E extends EndpointEvents = EndpointEvents,
  S extends string = EndpointState
> {
  /** The validated options, frozen. */
  readonly options: ResolvedEndpointOptions
  /** The role of this endpoint's connections. */
  readonly role: R
  protected readonly log: Logger
  protected readonly events: TypedEmitter<E>
  protected readonly timeouts: TimeoutManager
  readonly #extensions: Extension[]
  /** Validated once, shared (frozen) by every connection's protocol. */
  readonly #protocolOptions: ResolvedProtocolOptions<R>
  /** How every connection's protocol reaches this endpoint, with its key. */
  readonly #owner: ProtocolOwner<R>
  /**
   * The connection table: each connection's protocol under its key, nothing more (a server holds one entry per
   * connection). Messages and the close reach the endpoint through the protocol's owner binding, with the key.
   */
  readonly #connections = new Map<string, AIPProtocol<R>>()
  /** The detach function of each extension attached to a connection; only connections with extensions have one. */
  readonly #attached = new Map<AIPProtocol<R>, Map<Extension, Unsubscribe>>()
  readonly #lifecycle: LifecycleState<S>

  /**
   * @param role - `'client'` (device, constellation) or `'server'`
   * @param options - validated once (`AIP_ERR_INVALID_OPTION`), the protocol options included
   * @param lifecycle - the subclass's lifecycle table; default {@link DEFAULT_LIFECYCLE}
   */
  constructor (role: R, options: EndpointOptions = {}, lifecycle?: LifecycleTable<S>) {
    const resolved = resolveOptions(EndpointOptionsSchema, options)
    this.options = Object.freeze({ logger: resolved.logger, defaultTimeoutMs: resolved.defaultTimeoutMs })
    this.role = role
    this.log = childLogger(resolved.logger, { component: 'aip-endpoint', role })
    this.events = new TypedEmitter<E>((err, event) => this.log.error({ err, event }, 'endpoint event listener threw'))
    this.timeouts = new TimeoutManager({ defaultTimeoutMs: resolved.defaultTimeoutMs, logger: resolved.logger })
    this.#extensions = [...(resolved.extensions ?? [])]
    this.#protocolOptions = resolveProtocolOptions<R>({ ...resolved.protocol, role, logger: resolved.logger })
    this.#owner = {
      ownerMessage: (message, key, protocol) => this.#dispatch(message, key, protocol),
      ownerInvalidFrame: (event, key, protocol) => { this.handleInvalidFrame(event, key, protocol) },
      ownerQueueFull: (event, key, protocol) => { this.handleQueueFull(event, key, protocol) },
      ownerTransportClosed: (info, key, protocol) => { this.handleTransportClose(info, key, protocol) },
      ownerClosed: (protocol, key, info) => this.#closed(protocol, key, info),
      ownerAfterClose: (info, key, protocol) => { this.handleClose(info, key, protocol) }
    }
    this.#lifecycle = new LifecycleState<S>(
      lifecycle ?? (DEFAULT_LIFECYCLE as unknown as LifecycleTable<S>),
      (change) => this.events.emit('stateChange', change as E['stateChange'])
    )
  }

  /** Starts the endpoint: connects (and registers), or starts accepting connections. */
  abstract start (): Promise<void>

  /**
   * Handles one incoming message of the connection `key` (whose protocol is `protocol`). Messages of one
   * connection are handled one after another; a throw (or rejection) becomes an `error` event and the connection
   * goes on.
   */
  abstract handleMessage (message: IncomingMessage<R>, key: string, protocol: AIPProtocol<R>): void | Promise<void>

  /** The current lifecycle state. */
  get state (): S {
    return this.#lifecycle.state
  }

  /**
   * The protocol of the only connection, if any.
   * @deprecated use {@link AIPEndpoint.connection}, which also takes a key.
   */
  get protocol (): AIPProtocol<R> | undefined {
    return this.connection()
  }

  /** Number of attached connections. */
  get connectionCount (): number {
    return this.#connections.size
  }

  /** The keys of the attached connections, in the order they were attached. */
  connectionKeys (): string[] {
    return [...this.#connections.keys()]
  }

  /**
   * True while the connection `key` (default: the only one) is attached and open.
   * @throws `AIP_ERR_INVALID_ARGUMENT` when no key is given and several connections are attached
   */
  isConnected (key?: string): boolean {
    return this.#find(key)?.isOpen === true
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<K extends keyof E>(event: K, listener: (payload: E[K]) => void): Unsubscribe {
    return this.events.on(event, listener)
  }

  /**
   * Adds an extension to every current and future connection (its `onConnect` runs at once for the current
   * ones); returns the function that removes it from all of them.
   */
  use (extension: Extension): Unsubscribe {
    this.#extensions.push(extension)
    for (const [key, protocol] of this.#connections) this.#attachExtension(protocol, key, extension)
    return () => {
      const at = this.#extensions.indexOf(extension)
      if (at !== -1) this.#extensions.splice(at, 1)
      for (const protocol of this.#connections.values()) {
        const detaches = this.#attached.get(protocol)
        const detach = detaches?.get(extension)
        if (detaches === undefined || detach === undefined) continue
        detaches.delete(extension)
        if (detaches.size === 0) this.#attached.delete(protocol)
        detach()
      }
    }
  }

  /**
   * Sends a message on the connection `key` (default: the only one) within `timeoutMs` (default
   * `defaultTimeoutMs`).
   * @throws (rejects) `AIP_ERR_ENDPOINT_NOT_CONNECTED`, `AIP_ERR_TIMEOUT`, `AIP_ERR_INVALID_ARGUMENT` (no key
   * among several connections), or the send's own error
   */
  async sendWithTimeout (message: OutgoingMessage<R>, timeoutMs?: number, key?: string): Promise<void> {
    const protocol = this.#require(key)
    await this.timeouts.withTimeout(() => protocol.send(message), timeoutMs, 'send')
  }

  /**
   * Waits for the next message of `type` (`'*'`: any) on the connection `key` (default: the only one) within
   * `timeoutMs` (default `defaultTimeoutMs`).
   * @throws (rejects) `AIP_ERR_ENDPOINT_NOT_CONNECTED`, `AIP_ERR_TIMEOUT`, `AIP_ERR_ENDPOINT_TRANSPORT_CLOSED`,
   * `AIP_ERR_INVALID_ARGUMENT` (no key among several connections)
   */
  async receiveWithTimeout (type: IncomingType<R> | '*', timeoutMs?: number, key?: string): Promise<IncomingMessage<R>> {
    const protocol = this.#require(key)
    return await protocol.receive(type, { timeoutMs: timeoutMs ?? this.options.defaultTimeoutMs })
  }

  /**
   * Stops the endpoint: closes every connection (1000 by default; a connection that does not finish its close
   * handshake within 2 s is dropped), releases every waiter and deadline, moves to `stopped` (when the lifecycle
   * allows it) and removes every listener. Subclasses that override it call `super.stop()`.
   */
  async stop (code = 1000, reason = ''): Promise<void> {
    const protocols = [...this.#connections.values()]
    if (protocols.length > 0) {
      // Extensions and listeners stay until the close is seen, so `onClose` and `disconnected` still run.
      for (const protocol of protocols) protocol.close(code, reason)
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), STOP_GRACE_MS)
        timer.unref()
      })
      const all = Promise.all(protocols.map((protocol) => protocol.closed))
      if (await Promise.race([all, late]) === 'late') {
        for (const protocol of protocols) protocol.transport.terminate()
        await all
      }
      clearTimeout(timer)
    }
    for (const key of [...this.#connections.keys()]) this.detachConnection(key)
    this.timeouts.dispose()
    if (this.#lifecycle.can('stopped' as S)) this.transition('stopped' as S)
    this.events.clear()
  }

  /** Hook: a device's connection is gone. Default: emits `deviceDisconnected`. */
  onDeviceDisconnected (deviceId: string): void | Promise<void> {
    this.events.emit('deviceDisconnected', { deviceId } as E['deviceDisconnected'])
  }

  /**
   * Hook: cancel every task running on a device. Default: nothing to cancel. An endpoint may answer how many it
   * cancelled (the server does).
   */
  cancelDeviceTasks (deviceId: string, reason: string): void | number | Promise<void> {
    this.log.debug({ deviceId, reason }, 'no tasks to cancel')
  }

  /** Hook: try to reconnect a device once; resolve `true` on success. Default: `false` (cannot reconnect). */
  reconnectDevice (deviceId: string, options: { signal?: AbortSignal } = {}): boolean | Promise<boolean> {
    this.log.debug({ deviceId, aborted: options.signal?.aborted ?? false }, 'reconnection not supported')
    return false
  }

  /**
   * Moves the lifecycle to `to` and emits `stateChange { from, to }`. Moving to the current state does nothing.
   * @throws `AIP_ERR_ENDPOINT_INVALID_STATE` when the lifecycle table does not allow the move
   */
  protected transition (to: S): void {
    this.#lifecycle.transition(to)
  }

  /** True when the lifecycle table allows moving from the current state to `to`. */
  protected canTransition (to: S): boolean {
    return this.#lifecycle.can(to)
  }

  /**
   * Attaches a connection under `key`: builds its {@link AIPProtocol}, routes every decoded message to
   * `handleMessage(message, key)`, attaches every extension (their `onConnect` runs now) and emits
   * `connected { endpointId: key }`. A previous connection under the same key is detached first (not closed).
   * When the connection closes it leaves the table and `disconnected { endpointId: key, info }` is emitted.
   */
  protected attachConnection (transport: Transport, key: string): AIPProtocol<R> {
    if (typeof key !== 'string') throw new InvalidArgumentError('key', 'a string', describeValue(key))
    if (this.#connections.has(key)) this.detachConnection(key)
    const protocol = new AIPProtocol<R>(transport, this.#protocolOptions)
    protocol[bindOwner](this.#owner, key)
    this.#connections.set(key, protocol)
    for (const extension of this.#extensions) this.#attachExtension(protocol, key, extension)
    // The event object is made only for a listener: a server accepts connections by the thousand.
    if (this.events.listenerCount('connected') > 0) this.events.emit('connected', { endpointId: key } as E['connected'])
    return protocol
  }

  /**
   * Removes the connection `key` from the table without closing it: its messages no longer reach
   * `handleMessage` and its extensions are detached. Returns its protocol (to close it), if it was attached.
   */
  protected detachConnection (key: string): AIPProtocol<R> | undefined {
    const protocol = this.#connections.get(key)
    if (protocol === undefined) return undefined
    this.#connections.delete(key)
    this.#release(protocol)
    return protocol
  }

  /**
   * Called when a frame of the connection `key` could not be decoded (or a binary frame came outside a transfer;
   * it was dropped), before the protocol's `invalidFrame` listeners. Does nothing by default: a subclass answers
   * or counts it here without a listener per connection.
   */
  protected handleInvalidFrame (_event: ProtocolEvents<R>['invalidFrame'], _key: string, _protocol: AIPProtocol<R>): void {}

  /**
   * Called when a frame of the connection `key` was dropped because `maxQueuedFrames` were waiting, before the
   * protocol's `queueFull` listeners. Does nothing by default.
   */
  protected handleQueueFull (_event: ProtocolEvents<R>['queueFull'], _key: string, _protocol: AIPProtocol<R>): void {}

  /**
   * Called as soon as the transport of the connection `key` closes, while frames received before the close may
   * still wait to be handled (when none waits, the protocol's close, and so {@link AIPEndpoint.handleClose}, came
   * first). Not called for a connection detached before. Does nothing by default: a subclass marks its
   * connection record closed here, without a transport listener per connection.
   */
  protected handleTransportClose (_info: CloseInfo, _key: string, _protocol: AIPProtocol<R>): void {}

  /**
   * Called once the connection `key` has closed, after it left the table, after `disconnected`, and after every
   * `close` listener of its protocol (so after each extension's `onClose`); every frame received before the close
   * was handled. Not called for a connection detached before its close. Does nothing by default.
   */
  protected handleClose (_info: CloseInfo, _key: string, _protocol: AIPProtocol<R>): void {}

  /**
   * The protocol of the connection `key`, or of the only connection when `key` is omitted; `undefined` when
   * there is none.
   * @throws `AIP_ERR_INVALID_ARGUMENT` when no key is given and several connections are attached
   */
  protected connection (key?: string): AIPProtocol<R> | undefined {
    return this.#find(key)
  }

  /**
   * Runs `handleMessage`; a throw or a rejection is logged and becomes an `error` event. Synchronous when the
   * handler is (no promise, no microtask per message: the connection's inbox goes on at once).
   */
  #dispatch (message: IncomingMessage<R>, key: string, protocol: AIPProtocol<R>): Promise<void> | undefined {
    let result: void | Promise<void>
    try {
      result = this.handleMessage(message, key, protocol)
    } catch (error) {
      this.#handleFailed(error, key, message)
      return undefined
    }
    if (result === undefined || typeof (result as Promise<void> | null)?.then !== 'function') return undefined
    return (result as Promise<void>).then(undefined, (error: unknown) => { this.#handleFailed(error, key, message) })
  }

  #handleFailed (error: unknown, key: string, message: IncomingMessage<R>): void {
    this.log.warn({ err: error, key, type: message.type, sessionId: message.session_id }, 'handleMessage threw')
    this.events.emit('error', { error, context: 'handleMessage' } as E['error'])
  }

  #closed (protocol: AIPProtocol<R>, key: string, info: CloseInfo): void {
    if (this.#connections.get(key) !== protocol) return
    this.#connections.delete(key)
    protocol[bindOwner](null)
    // Each extension detaches itself after its `onClose`, which runs after this call.
    this.#attached.delete(protocol)
    if (this.events.listenerCount('disconnected') > 0) this.events.emit('disconnected', { endpointId: key, info } as E['disconnected'])
  }

  #release (protocol: AIPProtocol<R>): void {
    protocol[bindOwner](null)
    const detaches = this.#attached.get(protocol)
    if (detaches === undefined) return
    this.#attached.delete(protocol)
    for (const detach of detaches.values()) detach()
  }

  #attachExtension (protocol: AIPProtocol<R>, key: string, extension: Extension): void {
    const detach = attachExtension(protocol, extension, { endpointId: key, logger: this.log })
    let detaches = this.#attached.get(protocol)
    if (detaches === undefined) {
      detaches = new Map()
      this.#attached.set(protocol, detaches)
    }
    detaches.set(extension, detach)
  }

  #find (key: string | undefined): AIPProtocol<R> | undefined {
    if (key !== undefined) return this.#connections.get(key)
    if (this.#connections.size > 1) {
      throw new InvalidArgumentError('key', 'a connection key: this endpoint has several connections', 'undefined')
    }
    return this.#connections.values().next().value
  }

  #require (key: string | undefined): AIPProtocol<R> {
    const protocol = this.#find(key)
    if (protocol === undefined || !protocol.isOpen) throw new NotConnectedError()
    return protocol
  }
}
