import { register, type AIPProtocol, type CloseInfo, type ServerEntry, type Transport } from '@aip/endpoint'
import { buildConstellationRegistration, buildHeartbeat, type ContinuityGrant, type DecodedServerMessage } from '@aip/protocol'
import { AbortedError, type Unsubscribe } from '@aip/resilience'
import { continuityRequest, grantOf } from './continuity.js'
import type { Device } from './device.js'
import {
  DeviceInfoRefusedError, RegistrationRefusedError, RegistrationTimeoutError, StoppedError, TaskRefusedError, connectError
} from './errors.js'
import type { ConstellationHost } from './host.js'
import { correlateError } from './pending.js'
import { onPresence } from './presence.js'
import type { Beating } from './server-link.js'
import type { TaskResult } from './types.js'

/** How long `disconnectDevice` and `stop` wait for a close handshake before dropping the socket. */
const CLOSE_GRACE_MS = 2000

/** `device_presence` frames kept while a connection is being established (the oldest go first). */
const MAX_EARLY_FRAMES = 64

/** What a device connection needs of its endpoint besides the host. */
export interface ConnectionHooks {
  /**
   * Attaches a new connection's transport to the endpoint under the device id: its `AIPProtocol`, the
   * extensions, and `handleMessage` (the message processor), which sees every frame before it is routed here.
   */
  readonly attach: (transport: Transport, deviceId: string) => AIPProtocol<'client'>
  /** Takes a connection that failed to register out of the endpoint before it is dropped. */
  readonly detach: (deviceId: string) => void
  /** A connection of the device closed. */
  readonly onClose: (device: Device, connection: DeviceConnection, info: CloseInfo) => void
}

/**
 * One connection of a device (a device has at most one established at a time): opened and registered by
 * {@link DeviceConnection.open}, then every frame is routed here (heartbeat answers, acks, TASK_END,
 * DEVICE_INFO_RESPONSE, ERROR); its heartbeat is beaten by the device's server link.
 */
export class DeviceConnection implements Beating {
  readonly protocol: AIPProtocol<'client'>
  /** Registered, and attached to its device. */
  established = false
  /** Closed on purpose (disconnectDevice, stop): no recovery. */
  closing = false
  /** The first frame (the registration answer), once seen. */
  firstAnswer: DecodedServerMessage | undefined
  /** What the server granted in its registration answer (continuity), or `null`. */
  grant: ContinuityGrant | null = null
  #sawFirst = false
  /** `device_presence` frames that came between the registration answer and the connection's establishment. */
  #early: DecodedServerMessage[] = []
  #awaitingHeartbeat = false
  #missedHeartbeats = 0
  #subscriptions: Unsubscribe[] = []
  readonly #host: ConstellationHost
  readonly #device: Device

  private constructor (host: ConstellationHost, device: Device, protocol: AIPProtocol<'client'>, hooks: ConnectionHooks) {
    this.#host = host
    this.#device = device
    this.protocol = protocol
    // Listeners first: no frame is lost, and the registration answer is seen by the message processor too.
    this.#subscriptions.push(
      // The registration answer, kept before the registration flow wakes up (`received` precedes delivery).
      protocol.on('received', ({ message }) => { this.firstAnswer ??= message }),
      // After the endpoint's own listener (attach): the message processor has seen the frame.
      protocol.onAnyMessage((message) => { this.#route(message) }),
      protocol.on('close', (info) => {
        this.release()
        hooks.onClose(device, this, info)
      })
    )
  }

  /**
   * Opens a connection of `device` to `server` and registers as `<taskName>@<deviceId>` scoped to it. Resolves with
   * the registered connection (not yet established: the caller attaches it). Rejects with
   * `AIP_ERR_CONSTELLATION_CONNECT`, `AIP_ERR_CONSTELLATION_REGISTRATION_REFUSED`,
   * `AIP_ERR_CONSTELLATION_REGISTRATION_TIMEOUT` or `AIP_ERR_CONSTELLATION_STOPPED`; what is known of the failure
   * is left in `device.lastFacts` (for the failure judge) and `device.lastLoss` (for the lifecycle). A connection
   * that does not register is taken out of the endpoint before it is dropped.
   */
  static async open (host: ConstellationHost, device: Device, hooks: ConnectionHooks, server: ServerEntry, signal: AbortSignal): Promise<DeviceConnection> {
    const { deviceId, clientId } = device
    const { options } = host
    let transport: Transport
    try {
      if (signal.aborted) throw new AbortedError(`connection of ${deviceId}`, signal.reason)
      transport = await options.transportFactory(server.url, { signal, handshakeTimeoutMs: options.connectTimeoutMs, deviceId })
    } catch (err) {
      const httpStatus = (err as { httpStatus?: number }).httpStatus
      device.lastFacts = { httpStatus }
      device.lastLoss = { kind: 'connect', message: 'the connection failed', error: err }
      // The transport's own message is not repeated: a custom factory might put the token in it.
      const why = signal.aborted
        ? 'aborted'
        : httpStatus !== undefined ? `the server refused the upgrade with HTTP ${httpStatus}` : 'the connection failed'
      throw connectError(device.serverKeys[server.index] as string, deviceId, why, httpStatus, err)
    }
    const connection = new DeviceConnection(host, device, hooks.attach(transport, deviceId), hooks)
    const { protocol } = connection
    try {
      if (host.stopped() || device.removed) throw new StoppedError()
      const registration = buildConstellationRegistration({ clientId, targetId: deviceId, taskName: options.taskName, ...continuityRequest(options.continuity, options.presence) })
      const answer = await register(protocol, registration, { timeoutMs: options.registrationTimeoutMs, signal })
      connection.grant = grantOf(answer, options.continuity || options.presence)
      if (!protocol.isOpen) throw new RegistrationRefusedError(clientId, 'the server closed the connection right after accepting it')
      if (host.stopped() || device.removed) throw new StoppedError()
    } catch (err) {
      hooks.detach(deviceId)
      protocol.close(1000, 'registration failed')
      protocol.transport.terminate()
      const error = connection.#registrationError(err)
      device.lastLoss = { kind: 'registration', message: (error as Error).message, error }
      throw error
    }
    return connection
  }

  /** Closes on purpose (`code`, `reason`) and waits for the close handshake, dropping the socket after 2 s. */
  async closeGracefully (code: number, reason: string): Promise<void> {
    const protocol = this.protocol
    protocol.close(code, reason)
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), CLOSE_GRACE_MS)
      timer.unref()
    })
    if (await Promise.race([protocol.closed, late]) === 'late') protocol.transport.terminate()
    clearTimeout(timer)
  }

  /** Removes the connection's listeners (its close, or its device is gone). */
  release (): void {
    for (const unsubscribe of this.#subscriptions) unsubscribe()
    this.#subscriptions = []
  }

  /** One heartbeat interval of the server link: check the previous heartbeat, send the next. */
  beat (): void {
    if (!this.protocol.isOpen) return
    const device = this.#device
    if (this.#awaitingHeartbeat) {
      this.#missedHeartbeats++
      if (this.#missedHeartbeats >= this.#host.options.maxMissedHeartbeats) {
        device.link.log.warn({ deviceId: device.deviceId, missed: this.#missedHeartbeats }, 'server stopped answering heartbeats: dropping the connection')
        this.protocol.transport.terminate()
        return
      }
    }
    this.#awaitingHeartbeat = true
    // client_type constellation: the reference orchestrator sends "device" and is refused (B1).
    const heartbeat = buildHeartbeat({ clientId: device.clientId, clientType: 'constellation', metadata: { device_id: device.deviceId } })
    this.protocol.send(heartbeat).catch((err: unknown) => {
      device.link.log.debug({ err, deviceId: device.deviceId }, 'heartbeat not sent')
    })
  }

  /** The error of a failed registration; records what is known of it for the failure judge. */
  #registrationError (err: unknown): unknown {
    const device = this.#device
    const code = (err as { code?: string }).code
    const answer = this.firstAnswer
    const refusal = answer?.type === 'error' ? (answer.error ?? 'unknown error') : undefined
    device.lastFacts = { refusal, registrationTimedOut: code === 'AIP_ERR_ENDPOINT_REGISTRATION_TIMEOUT' }
    if (code === 'AIP_ERR_ENDPOINT_REGISTRATION_TIMEOUT') {
      return new RegistrationTimeoutError(device.clientId, this.#host.options.registrationTimeoutMs, { cause: err })
    }
    if (code === 'AIP_ERR_ENDPOINT_REGISTRATION_REFUSED') {
      // Without an ERROR the server closed or answered something else; `cause` tells which.
      return new RegistrationRefusedError(device.clientId, refusal ?? 'the server closed the connection or sent no valid answer', { cause: err })
    }
    return err
  }

  #route (message: DecodedServerMessage): void {
    const device = this.#device
    const first = !this.#sawFirst
    this.#sawFirst = true
    // The first frame is the registration answer, handled by the registration flow.
    if (first) return
    if (device.connection !== this) {
      // A presence snapshot may come right behind the registration answer, before the connection is the device's.
      if (!this.established && !this.closing && message.type === 'device_presence') {
        this.#early.push(message)
        if (this.#early.length > MAX_EARLY_FRAMES) this.#early.shift()
        return
      }
      this.#unmatched(message, 'message on a connection that is not the device\'s current one')
      return
    }
    switch (message.type) {
      case 'heartbeat':
        this.#onHeartbeat(message)
        return
      case 'task_end':
        this.#onTaskEnd(message)
        return
      case 'device_info_response':
        this.#onDeviceInfo(message)
        return
      case 'error':
        this.#onError(message)
        return
      case 'device_presence':
        this.#onPresence(message)
        return
      default:
        this.#unmatched(message, 'unexpected message type')
    }
  }

  /** Handles the `device_presence` frames that came before the connection was established (call it once it is). */
  releaseEarlyFrames (): void {
    const early = this.#early
    this.#early = []
    for (const message of early) this.#onPresence(message)
  }

  #onPresence (message: DecodedServerMessage): void {
    const dropped = onPresence(this.#host, this.#device, this.grant, message)
    if (dropped !== null) this.#unmatched(message, dropped)
  }

  #onHeartbeat (message: DecodedServerMessage): void {
    const device = this.#device
    if (message.status !== 'ok') {
      this.#unmatched(message, 'heartbeat with a status other than ok')
      return
    }
    if (message.session_id === null) {
      this.#awaitingHeartbeat = false
      this.#missedHeartbeats = 0
      device.lastHeartbeatAt = Date.now()
      return
    }
    const entry = device.tasks.running.get(message.session_id)
    if (entry === undefined || entry.connection !== this.protocol || entry.phase !== 'sent') {
      this.#unmatched(message, 'ack of no task waiting for one')
      return
    }
    entry.phase = 'acked'
    this.#host.emit('taskAck', { taskId: entry.taskId, sessionId: entry.sessionId, deviceId: device.deviceId })
  }

  #onTaskEnd (message: DecodedServerMessage): void {
    const device = this.#device
    const entry = message.session_id === null ? undefined : device.tasks.running.get(message.session_id)
    if (device.tasks.cancelled.on(message.session_id, this.protocol) !== undefined) {
      device.tasks.cancelled.release(message.session_id as string, 'task_end')
      return
    }
    if (entry === undefined || entry.connection !== this.protocol) {
      this.#unmatched(message, 'TASK_END of no pending task (late, or already settled)')
      return
    }
    const status = message.status === 'completed' ? 'completed' : 'failed'
    device.tasks.settle(entry, status, {
      taskId: entry.taskId,
      sessionId: entry.sessionId,
      deviceId: device.deviceId,
      status,
      result: message.result ?? null,
      error: message.error ?? null,
      message
    } satisfies TaskResult)
  }

  #onDeviceInfo (message: DecodedServerMessage): void {
    const device = this.#device
    const info = device.infos.get(message.response_id)
    if (info === undefined) {
      this.#unmatched(message, 'DEVICE_INFO_RESPONSE of no pending request')
      return
    }
    if (message.status === 'error') {
      info.settle(new DeviceInfoRefusedError(device.deviceId, message.error ?? 'unknown error'))
      return
    }
    const result = message.result
    info.settle(undefined, typeof result === 'object' && result !== null && !Array.isArray(result) ? result as Record<string, unknown> : null)
  }

  #onError (message: DecodedServerMessage): void {
    const device = this.#device
    const text = message.error ?? 'unknown error'
    if (device.tasks.cancelled.on(message.session_id, this.protocol) !== undefined) {
      // The cancel was refused: the session had already ended on the server.
      device.link.log.debug({ deviceId: device.deviceId, sessionId: message.session_id, error: text }, 'task_cancel refused')
      device.tasks.cancelled.release(message.session_id as string, 'refused')
      return
    }
    const target = correlateError(message, this.protocol, device.tasks, device.infos)
    switch (target.kind) {
      case 'task':
        device.tasks.settle(target.entry, 'refused', new TaskRefusedError(target.entry.taskId, text))
        return
      case 'info':
        target.entry.settle(new DeviceInfoRefusedError(device.deviceId, text))
        return
      default:
        this.#unmatched(message, 'ERROR that matches no single pending request')
    }
  }

  #unmatched (message: DecodedServerMessage, reason: string): void {
    const { deviceId } = this.#device
    this.#host.log.debug({ deviceId, type: message.type, status: message.status, sessionId: message.session_id, error: message.error, reason }, 'message dropped')
    this.#host.emit('unmatched', { deviceId, message, reason })
  }
}
