import { TimeoutManager, TypedEmitter, silentLogger, type Logger, type Unsubscribe } from '@aip/resilience'
import { NotConnectedError } from './errors.js'
import { attachExtension, type Extension } from './extensions/extension.js'
import { childLogger } from './logger.js'
import { integerOption, loggerOption, MAX_TIMER_MS } from './options.js'
import {
  AIPProtocol, type IncomingMessage, type IncomingType, type OutgoingMessage, type ProtocolOptions, type ProtocolRole
} from './protocol.js'
import type { CloseInfo, Transport } from './transport.js'

/** How long `stop()` waits for the close handshake before it drops the connection. */
const STOP_GRACE_MS = 2000

/** Options of {@link AIPEndpoint}. */
export interface EndpointOptions {
  /** pino-compatible logger. Default: silent. */
  logger?: Logger
  /** Deadline of `sendWithTimeout` / `receiveWithTimeout` when none is given. Default 120000 ms. */
  defaultTimeoutMs?: number
  /** Extensions attached to every connection, in order. */
  extensions?: readonly Extension[]
  /** Options handed to each connection's {@link AIPProtocol} (limits, middleware). */
  protocol?: Omit<ProtocolOptions<ProtocolRole>, 'role' | 'logger'>
}

/** The validated, frozen options of an endpoint. */
export interface ResolvedEndpointOptions {
  readonly logger: Logger
  readonly defaultTimeoutMs: number
}

/** Events of every {@link AIPEndpoint}. Subclasses add theirs. */
export interface EndpointEvents {
  /** A connection was attached. */
  connected: { readonly endpointId: string | undefined }
  /** The connection closed. */
  disconnected: { readonly endpointId: string | undefined, readonly info: CloseInfo }
  /** `handleMessage` threw, or another error the endpoint could not return to a caller. */
  error: { readonly error: unknown, readonly context: string }
  /** `onDeviceDisconnected` ran for a device (the default hook emits it). */
  deviceDisconnected: { readonly deviceId: string }
}

/**
 * The base of every AIP endpoint (device client, device server connection, constellation): one connection at a
 * time through an {@link AIPProtocol}, typed events, extensions, deadlines, and the hooks the reconnection
 * strategy of `@aip/resilience` calls (it is a `ReconnectableEndpoint`).
 *
 * A subclass implements `start()` (connect, register, then `attach(transport)`) and `handleMessage()`, and
 * overrides the hooks it needs. `stop()` detaches the connection, closes it, and leaves no timer or listener.
 */
export abstract class AIPEndpoint<R extends ProtocolRole = ProtocolRole, E extends EndpointEvents = EndpointEvents> {
  /** The validated options, frozen. */
  readonly options: ResolvedEndpointOptions
  /** The role of this endpoint's connections. */
  readonly role: R
  protected readonly log: Logger
  protected readonly events: TypedEmitter<E>
  protected readonly timeouts: TimeoutManager
  readonly #extensions: Extension[]
  readonly #protocolOptions: EndpointOptions['protocol']
  #protocol: AIPProtocol<R> | undefined
  #detach: Unsubscribe[] = []

  constructor (role: R, options: EndpointOptions = {}) {
    const logger = loggerOption(options.logger, silentLogger)
    this.options = Object.freeze({
      logger,
      defaultTimeoutMs: integerOption('defaultTimeoutMs', options.defaultTimeoutMs, 120_000, 1, MAX_TIMER_MS)
    })
    this.role = role
    this.log = childLogger(logger, { component: 'aip-endpoint', role })
    this.events = new TypedEmitter<E>((err, event) => this.log.error({ err, event }, 'endpoint event listener threw'))
    this.timeouts = new TimeoutManager({ defaultTimeoutMs: this.options.defaultTimeoutMs, logger })
    this.#extensions = [...(options.extensions ?? [])]
    this.#protocolOptions = options.protocol
  }

  /** Connects (and registers) the endpoint. */
  abstract start (): Promise<void>

  /** Handles one incoming message of the current connection; errors become `error` events. */
  abstract handleMessage (message: IncomingMessage<R>): void | Promise<void>

  /** The current connection's protocol, if any. */
  get protocol (): AIPProtocol<R> | undefined {
    return this.#protocol
  }

  /** True while a connection is attached and open. */
  isConnected (): boolean {
    return this.#protocol?.isOpen === true
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<K extends keyof E>(event: K, listener: (payload: E[K]) => void): Unsubscribe {
    return this.events.on(event, listener)
  }

  /** Adds an extension to this and every later connection; returns the function that removes it. */
  use (extension: Extension): Unsubscribe {
    this.#extensions.push(extension)
    const protocol = this.#protocol
    const detach = protocol === undefined ? undefined : attachExtension(protocol, extension, { logger: this.log })
    if (detach !== undefined) this.#detach.push(detach)
    return () => {
      const at = this.#extensions.indexOf(extension)
      if (at !== -1) this.#extensions.splice(at, 1)
      detach?.()
    }
  }

  /**
   * Sends a message on the current connection within `timeoutMs` (default `defaultTimeoutMs`). Rejects with
   * `AIP_ERR_ENDPOINT_NOT_CONNECTED`, `AIP_ERR_RESILIENCE_TIMEOUT`, or the send's own error.
   */
  async sendWithTimeout (message: OutgoingMessage<R>, timeoutMs?: number): Promise<void> {
    const protocol = this.#requireProtocol()
    await this.timeouts.withTimeout(() => protocol.send(message), timeoutMs, 'send')
  }

  /**
   * Waits for the next message of `type` on the current connection within `timeoutMs` (default
   * `defaultTimeoutMs`). Rejects with `AIP_ERR_ENDPOINT_NOT_CONNECTED`, `AIP_ERR_RESILIENCE_TIMEOUT` or
   * `AIP_ERR_ENDPOINT_TRANSPORT_CLOSED`.
   */
  async receiveWithTimeout (type: IncomingType<R> | '*', timeoutMs?: number): Promise<IncomingMessage<R>> {
    const protocol = this.#requireProtocol()
    return await protocol.receive(type, { timeoutMs: timeoutMs ?? this.options.defaultTimeoutMs })
  }

  /**
   * Stops the endpoint: closes the connection (1000 by default), releases every waiter and deadline, and removes
   * every listener. Subclasses that override it call `super.stop()`.
   */
  async stop (code = 1000, reason = ''): Promise<void> {
    const protocol = this.#protocol
    if (protocol !== undefined) {
      // Extensions and listeners stay until the close is seen, so `onClose` and `disconnected` still run.
      protocol.close(code, reason)
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), STOP_GRACE_MS)
        timer.unref()
      })
      if (await Promise.race([protocol.closed, late]) === 'late') {
        protocol.transport.terminate()
        await protocol.closed
      }
      clearTimeout(timer)
    }
    this.#release()
    this.timeouts.dispose()
    this.events.clear()
  }

  /** Hook: a device's connection is gone. Default: emits `deviceDisconnected`. */
  onDeviceDisconnected (deviceId: string): void | Promise<void> {
    this.events.emit('deviceDisconnected', { deviceId } as E['deviceDisconnected'])
  }

  /** Hook: cancel every task running on a device. Default: nothing to cancel. */
  cancelDeviceTasks (deviceId: string, reason: string): void | Promise<void> {
    this.log.debug({ deviceId, reason }, 'no tasks to cancel')
  }

  /** Hook: try to reconnect a device once; resolve `true` on success. Default: `false` (cannot reconnect). */
  reconnectDevice (deviceId: string, options: { signal?: AbortSignal } = {}): boolean | Promise<boolean> {
    this.log.debug({ deviceId, aborted: options.signal?.aborted ?? false }, 'reconnection not supported')
    return false
  }

  /**
   * Attaches a connection: builds its protocol, routes every message to `handleMessage`, attaches the extensions
   * (their `onConnect` runs now) and emits `connected`. A previous connection is detached first (not closed).
   */
  protected attach (transport: Transport, endpointId?: string): AIPProtocol<R> {
    this.#release()
    const protocol = new AIPProtocol<R>(transport, {
      ...this.#protocolOptions,
      role: this.role,
      logger: this.options.logger
    })
    this.#protocol = protocol
    const detach: Unsubscribe[] = [
      protocol.onAnyMessage(async (message) => {
        try {
          await this.handleMessage(message)
        } catch (error) {
          this.log.warn({ err: error, type: message.type, sessionId: message.session_id }, 'handleMessage threw')
          this.events.emit('error', { error, context: 'handleMessage' } as E['error'])
        }
      }),
      protocol.on('close', (info) => {
        if (this.#protocol !== protocol) return
        this.#protocol = undefined
        this.#detach = []
        this.events.emit('disconnected', { endpointId, info } as E['disconnected'])
      })
    ]
    for (const extension of this.#extensions) detach.push(attachExtension(protocol, extension, { endpointId, logger: this.log }))
    this.#detach = detach
    this.events.emit('connected', { endpointId } as E['connected'])
    return protocol
  }

  #release (): void {
    for (const unsubscribe of this.#detach) unsubscribe()
    this.#detach = []
    this.#protocol = undefined
  }

  #requireProtocol (): AIPProtocol<R> {
    const protocol = this.#protocol
    if (protocol === undefined || !protocol.isOpen) throw new NotConnectedError()
    return protocol
  }
}
