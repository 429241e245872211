import { performance } from 'node:perf_hooks'
import {
  AIPProtocol, CloseCode, connectWebSocket, register, startHeartbeat, type CloseInfo, type ConnectError,
  type HeartbeatHandle, type Transport
} from '@aip/endpoint'
import type { DecodedClientMessage, DecodedServerMessage } from '@aip/protocol'
import type { Logger } from '@aip/resilience'
import { RegistrationRefusedError, RegistrationTimeoutError } from './errors.js'
import type { DisconnectCause } from './state.js'

/** Settings of one connection, taken from the client's resolved options. */
export interface ConnectionSettings {
  url: string
  clientId: string
  headers: Readonly<Record<string, string>>
  /** Deadline of the handshake and of the registration answer. */
  timeoutMs: number
  heartbeatIntervalMs: number
  maxMissedHeartbeats: number
  pingIntervalMs: number
  deadAfterMs: number
  logger: Logger
}

/** How a registered connection ended. */
export interface ConnectionEnd {
  readonly info: CloseInfo
  /** `local`: we closed it on purpose (stop); otherwise why it is gone. */
  readonly cause: DisconnectCause | { readonly kind: 'local', readonly code: number, readonly message: string }
}

/** A failed attempt to open and register a connection, classified. */
export class AttemptError extends Error {
  override readonly cause: unknown
  readonly disconnect: DisconnectCause
  /** Whether retrying can help: false for bad credentials, a refused identity, an invalid registration. */
  readonly fatal: boolean
  /** A duplicate `client_id` refusal: fatal at first start, transient while reconnecting. */
  readonly duplicate: boolean
  /** The server closed or went away cleanly: the attempt does not count against the retry budget. */
  readonly clean: boolean
  readonly httpStatus: number | undefined
  readonly closeCode: number | undefined

  constructor (disconnect: DisconnectCause, flags: { fatal: boolean, duplicate?: boolean, clean?: boolean, httpStatus?: number | undefined }) {
    super(disconnect.message, { cause: disconnect.error })
    this.name = 'AttemptError'
    this.cause = disconnect.error
    this.disconnect = disconnect
    this.fatal = flags.fatal
    this.duplicate = flags.duplicate ?? false
    this.clean = flags.clean ?? false
    this.httpStatus = flags.httpStatus
    this.closeCode = disconnect.code
  }
}

/** Server texts that mean "this client id is taken" (the reference's and ours). */
const DUPLICATE = /is already registered/

/**
 * Close codes after which a device stops instead of reconnecting: a policy refusal of the handshake (1008), a
 * refused registration (4002) and a takeover by another connection of the same client (4004).
 */
export const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([CloseCode.PolicyViolation, CloseCode.RegistrationRefused, CloseCode.Replaced])

/** Close codes of a server that closes or goes away on purpose: reconnecting does not use the retry budget. */
export const CLEAN_CLOSE_CODES: ReadonlySet<number> = new Set([CloseCode.Normal, CloseCode.GoingAway])

/** Whether an HTTP status of a refused upgrade is worth retrying (server errors, 408, 429) or not (401, 403, 404). */
export function retryableHttpStatus (status: number): boolean {
  return status >= 500 || status === 408 || status === 429
}

/**
 * One socket's life: connect, register, heartbeat, dead-peer detection, and the classified end. Open one with
 * {@link Connection.open}; it never reconnects (the client does).
 */
export class Connection {
  readonly protocol: AIPProtocol<'client'>
  readonly ack: DecodedServerMessage
  /** Resolves once, when the connection is gone, with the close and its cause. */
  readonly ended: Promise<ConnectionEnd>
  readonly #settings: ConnectionSettings
  readonly #heartbeat: HeartbeatHandle
  #timer: NodeJS.Timeout | undefined
  #lastSeen = performance.now()
  #cause: ConnectionEnd['cause'] | undefined

  private constructor (protocol: AIPProtocol<'client'>, ack: DecodedServerMessage, settings: ConnectionSettings) {
    this.protocol = protocol
    this.ack = ack
    this.#settings = settings
    const transport = protocol.transport
    const seen = (): void => { this.#lastSeen = performance.now() }
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
    this.#arm()
    this.ended = protocol.closed.then((info) => {
      clearTimeout(this.#timer)
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
   * Opens a WebSocket, sends `registration` and waits for the server's HEARTBEAT ok. Rejects with a classified
   * {@link AttemptError}, after closing whatever was opened.
   */
  static async open (settings: ConnectionSettings, registration: DecodedClientMessage, signal: AbortSignal): Promise<Connection> {
    let transport: Transport
    try {
      transport = await connectWebSocket(settings.url, {
        signal,
        handshakeTimeoutMs: settings.timeoutMs,
        headers: { ...settings.headers },
        perMessageDeflate: false
      })
    } catch (err) {
      const status = (err as ConnectError).httpStatus
      throw new AttemptError(
        { kind: 'connect', message: (err as Error).message, error: err },
        { fatal: status !== undefined && !retryableHttpStatus(status), httpStatus: status }
      )
    }
    const protocol = new AIPProtocol(transport, { role: 'client', logger: settings.logger })
    let answer: DecodedServerMessage | undefined
    const offError = protocol.on('received', ({ message }) => { if (message.type === 'error') answer ??= message })
    try {
      const ack = await register(protocol, registration, { timeoutMs: settings.timeoutMs, signal })
      return new Connection(protocol, ack, settings)
    } catch (err) {
      protocol.transport.terminate()
      const info = await protocol.closed
      throw Connection.#classifyRegistration(err, answer, info, settings.timeoutMs)
    } finally {
      offError()
    }
  }

  static #classifyRegistration (err: unknown, answer: DecodedServerMessage | undefined, info: CloseInfo, timeoutMs: number): AttemptError {
    const code = (err as { code?: string }).code
    if (code === 'AIP_ERR_ENDPOINT_REGISTRATION_TIMEOUT') {
      const timeout = new RegistrationTimeoutError(timeoutMs, { cause: err })
      return new AttemptError({ kind: 'registration', message: timeout.message, error: timeout }, { fatal: false })
    }
    if (code !== 'AIP_ERR_ENDPOINT_REGISTRATION_REFUSED') {
      return new AttemptError({ kind: 'registration', message: (err as Error).message, error: err }, { fatal: false })
    }
    if (answer !== undefined) {
      // The server named its reason: an identity or registration refusal, which retrying does not fix; a duplicate
      // id is left to the caller (the old connection of this very device may still be held by the server).
      const text = answer.error ?? 'unknown error'
      const refused = new RegistrationRefusedError(text, { cause: err })
      return new AttemptError({ kind: 'registration', message: refused.message, error: refused }, { fatal: true, duplicate: DUPLICATE.test(text) })
    }
    // No ERROR: the server closed (a silent refusal, a restart) or answered something else.
    const closeCode = info.local ? undefined : info.code
    const refused = new RegistrationRefusedError((err as Error).message.replace(/^Registration refused: /, ''), { cause: err })
    return new AttemptError(
      { kind: 'registration', code: closeCode, message: refused.message, error: refused },
      {
        fatal: closeCode !== undefined && FATAL_CLOSE_CODES.has(closeCode),
        clean: closeCode !== undefined && CLEAN_CLOSE_CODES.has(closeCode)
      }
    )
  }

  get isOpen (): boolean {
    return this.protocol.isOpen
  }

  /** Closes cleanly (the client stops); `ended` resolves when the close is done. */
  close (code: number = CloseCode.Normal, reason = ''): void {
    this.#cause ??= { kind: 'local', code, message: reason === '' ? 'closed by the client' : reason }
    this.protocol.close(code, reason)
  }

  /** Drops the socket at once, without a close handshake. */
  terminate (reason = 'terminated by the client'): void {
    this.#cause ??= { kind: 'local', code: CloseCode.Abnormal, message: reason }
    this.protocol.transport.terminate()
  }

  /** The liveness probe: one re-armed, unref()ed timer that pings, and declares the peer dead after silence. */
  #arm (): void {
    this.#timer = setTimeout(() => {
      if (!this.protocol.isOpen) return
      const silentMs = performance.now() - this.#lastSeen
      if (silentMs >= this.#settings.deadAfterMs) {
        this.#kill({ kind: 'silence', message: `no frame or pong for ${Math.round(silentMs)} ms` })
        return
      }
      this.protocol.transport.ping()
      this.#arm()
    }, Math.min(this.#settings.pingIntervalMs, Math.max(1, this.#settings.deadAfterMs - (performance.now() - this.#lastSeen))))
    this.#timer.unref()
  }

  #kill (cause: DisconnectCause): void {
    if (this.#cause !== undefined) return
    this.#cause = cause
    this.#settings.logger.warn({ clientId: this.#settings.clientId, cause: cause.kind }, 'connection declared dead')
    clearTimeout(this.#timer)
    this.protocol.transport.terminate()
  }
}
