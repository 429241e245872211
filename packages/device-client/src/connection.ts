import {
  CloseCode, Liveness, connectWebSocket, register, RegistrationRefusedError as EndpointRegistrationRefusedError,
  RegistrationTimeoutError as EndpointRegistrationTimeoutError, startHeartbeat, type AIPProtocol, type AttemptFacts, type CloseInfo,
  type ConnectError, type DisconnectCause, type HeartbeatHandle, type ServerEntry, type Transport
} from '@aip/endpoint'
import type { DecodedClientMessage, DecodedServerMessage } from '@aip/protocol'
import type { Logger } from '@aip/resilience'
import { RegistrationRefusedError, RegistrationTimeoutError } from './errors.js'
import type { ResolvedDeviceClientOptions } from './options.js'

/** How long a graceful close waits for the close handshake before it drops the socket. */
const STOP_GRACE_MS = 2000

/** Settings of one connection, taken from the client's resolved options. */
export interface ConnectionSettings {
  clientId: string
  headers: Readonly<Record<string, string>>
  /** Deadline of the handshake and of the registration answer. */
  timeoutMs: number
  heartbeatIntervalMs: number
  maxMissedHeartbeats: number
  pingIntervalMs: number
  deadAfterMs: number
  logger: Logger
  /** Attaches a new connection's transport to the endpoint: its `AIPProtocol`, extensions and `handleMessage`. */
  attach: (transport: Transport) => AIPProtocol<'client'>
  /** Takes a connection that failed to register out of the endpoint before it is dropped. */
  detach: () => void
}

/** The settings of the connections of a client with these options. */
export function connectionSettings (
  options: Pick<ResolvedDeviceClientOptions, 'clientId' | 'headers' | 'timeoutMs' | 'heartbeatIntervalMs' | 'maxMissedHeartbeats' | 'pingIntervalMs' | 'deadAfterMs'>,
  logger: Logger,
  endpoint: Pick<ConnectionSettings, 'attach' | 'detach'>
): ConnectionSettings {
  return {
    clientId: options.clientId,
    headers: options.headers,
    timeoutMs: options.timeoutMs,
    heartbeatIntervalMs: options.heartbeatIntervalMs,
    maxMissedHeartbeats: options.maxMissedHeartbeats,
    pingIntervalMs: options.pingIntervalMs,
    deadAfterMs: options.deadAfterMs,
    logger,
    attach: endpoint.attach,
    detach: endpoint.detach
  }
}

/** How a registered connection ended. */
export interface ConnectionEnd {
  readonly info: CloseInfo
  /** `local`: we closed it on purpose (stop); otherwise why it is gone. */
  readonly cause: DisconnectCause | { readonly kind: 'local', readonly code: number, readonly message: string }
}

/** A failed attempt to open and register a connection, with what is known of it. */
export class AttemptError extends Error {
  override readonly cause: unknown
  readonly disconnect: DisconnectCause
  readonly facts: AttemptFacts
  /** The server of the attempt, once known. */
  server: ServerEntry | undefined

  constructor (disconnect: DisconnectCause, facts: AttemptFacts) {
    super(disconnect.message, { cause: disconnect.error })
    this.name = 'AttemptError'
    this.cause = disconnect.error
    this.disconnect = disconnect
    this.facts = facts
  }

  /** `err` as an attempt error (a failure outside the attempt counts as a connect failure). */
  static from (err: unknown): AttemptError {
    if (err instanceof AttemptError) return err
    return new AttemptError({ kind: 'connect', message: err instanceof Error ? err.message : String(err), error: err }, {})
  }

  get httpStatus (): number | undefined {
    return this.facts.httpStatus
  }

  get closeCode (): number | undefined {
    return this.disconnect.code
  }
}

/**
 * One socket's life: connect, register, heartbeat, dead-peer detection (the shared `Liveness` of
 * `@aip/endpoint`), and the classified end. Open one with {@link Connection.open}; it never reconnects (the
 * client does).
 */
export class Connection {
  readonly protocol: AIPProtocol<'client'>
  /** The server this connection is registered on. */
  readonly server: ServerEntry
  readonly ack: DecodedServerMessage
  /** Resolves once, when the connection is gone, with the close and its cause. */
  readonly ended: Promise<ConnectionEnd>
  readonly #settings: ConnectionSettings
  readonly #heartbeat: HeartbeatHandle
  readonly #liveness: Liveness
  #cause: ConnectionEnd['cause'] | undefined

  private constructor (protocol: AIPProtocol<'client'>, ack: DecodedServerMessage, settings: ConnectionSettings, server: ServerEntry) {
    this.protocol = protocol
    this.server = server
    this.ack = ack
    this.#settings = settings
    const transport = protocol.transport
    // Pings every pingIntervalMs; no frame and no pong for deadAfterMs: the peer is dead (a half-open connection).
    const liveness = new Liveness({
      intervalMs: settings.pingIntervalMs,
      deadAfterMs: settings.deadAfterMs,
      onTick: () => { if (protocol.isOpen) transport.ping() },
      onDead: (silentMs) => this.#kill({ kind: 'silence', message: `no frame or pong for ${Math.round(silentMs)} ms` })
    })
    this.#liveness = liveness
    const seen = (): void => liveness.touch()
    const offMessage = transport.on('message', seen)
    const offPong = transport.on('pong', seen)
    this.#heartbeat = startHeartbeat(protocol, {
      clientId: settings.clientId,
      clientType: 'device',
      intervalMs: settings.heartbeatIntervalMs,
      maxMissedAcks: settings.maxMissedHeartbeats,
      logger: settings.logger
    })
    this.#heartbeat.on('dead', ({ missedAcks }) => {
      this.#kill({ kind: 'heartbeat', message: `${missedAcks} heartbeats in a row got no ack` })
    })
    this.ended = protocol.closed.then((info) => {
      liveness.stop()
      offMessage()
      offPong()
      this.#heartbeat.stop()
      const cause = this.#cause ?? {
        kind: 'closed' as const,
        code: info.code,
        message: `the connection closed with ${info.code}${info.reason === '' ? '' : ` (${info.reason})`}`
      }
      return { info, cause }
    })
  }

  /**
   * Opens a WebSocket to `server`, sends `registration` and waits for the server's HEARTBEAT ok. Rejects with a
   * classified {@link AttemptError} (its `server` set), after closing whatever was opened.
   */
  static async open (settings: ConnectionSettings, server: ServerEntry, registration: DecodedClientMessage, signal: AbortSignal): Promise<Connection> {
    try {
      return await Connection.#open(settings, server, registration, signal)
    } catch (err) {
      const failure = AttemptError.from(err)
      failure.server = server
      throw failure
    }
  }

  static async #open (settings: ConnectionSettings, server: ServerEntry, registration: DecodedClientMessage, signal: AbortSignal): Promise<Connection> {
    let transport: Transport
    try {
      transport = await connectWebSocket(server.url, {
        signal,
        handshakeTimeoutMs: settings.timeoutMs,
        headers: { ...settings.headers },
        perMessageDeflate: false
      })
    } catch (err) {
      throw new AttemptError({ kind: 'connect', message: (err as Error).message, error: err }, { httpStatus: (err as ConnectError).httpStatus })
    }
    const protocol = settings.attach(transport)
    try {
      const ack = await register(protocol, registration, { timeoutMs: settings.timeoutMs, signal })
      return new Connection(protocol, ack, settings, server)
    } catch (err) {
      settings.detach()
      protocol.transport.terminate()
      const info = await protocol.closed
      throw Connection.#classifyRegistration(err, info, settings.timeoutMs)
    }
  }

  /** The attempt error of a failed registration, decided from the flow's error and the answer it kept. */
  static #classifyRegistration (err: unknown, info: CloseInfo, timeoutMs: number): AttemptError {
    if (err instanceof EndpointRegistrationTimeoutError) {
      const timeout = new RegistrationTimeoutError(timeoutMs, { cause: err })
      return new AttemptError({ kind: 'registration', message: timeout.message, error: timeout }, { registrationTimedOut: true })
    }
    const closeCode = info.local ? undefined : info.code
    if (!(err instanceof EndpointRegistrationRefusedError)) {
      return new AttemptError({ kind: 'registration', code: closeCode, message: (err as Error).message, error: err }, { closeCode })
    }
    const answer = err.answer
    if (answer !== null && answer.type === 'error') {
      // The server named its reason (the ERROR frame the registration flow kept).
      const text = answer.error ?? 'unknown error'
      const refused = new RegistrationRefusedError(text, { cause: err })
      return new AttemptError({ kind: 'registration', message: refused.message, error: refused }, { refusal: text })
    }
    // No ERROR: the server closed (a silent refusal, a restart) or answered something else; `cause` tells which.
    const text = closeCode === undefined ? 'the server sent no valid answer' : `the server closed the connection with ${closeCode} without an answer`
    const refused = new RegistrationRefusedError(text, { cause: err })
    return new AttemptError({ kind: 'registration', code: closeCode, message: refused.message, error: refused }, { closeCode })
  }

  get isOpen (): boolean {
    return this.protocol.isOpen
  }

  /** Closes cleanly (the client stops); `ended` resolves when the close is done. */
  close (code: number = CloseCode.Normal, reason = ''): void {
    this.#cause ??= { kind: 'local', code, message: reason === '' ? 'closed by the client' : reason }
    this.protocol.close(code, reason)
  }

  /** Closes cleanly and waits for the close; drops the socket when the handshake takes over 2 s. */
  async closeGracefully (code: number, reason: string): Promise<void> {
    this.close(code, reason)
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), STOP_GRACE_MS) })
    if (await Promise.race([this.ended, late]) === 'late') this.terminate()
    clearTimeout(timer)
    await this.ended
  }

  /** Drops the socket at once, without a close handshake. */
  terminate (reason = 'terminated by the client'): void {
    this.#cause ??= { kind: 'local', code: CloseCode.Abnormal, message: reason }
    this.protocol.transport.terminate()
  }

  #kill (cause: DisconnectCause): void {
    if (this.#cause !== undefined) return
    this.#cause = cause
    this.#settings.logger.warn({ clientId: this.#settings.clientId, cause: cause.kind }, 'connection declared dead')
    this.#liveness.stop()
    this.protocol.transport.terminate()
  }
}
