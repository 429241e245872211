import type { AIPProtocol } from '@aip/endpoint'
import { buildDeviceInfoRequest, type DecodedServerMessage } from '@aip/protocol'
import { AbortedError, TimeoutError } from '@aip/resilience'
import { DeviceDisconnectedError } from './errors.js'
import type { TaskEntry, TaskQueue } from './task-queue.js'

/** A DEVICE_INFO_REQUEST waiting for its answer. */
export interface InfoEntry {
  readonly requestId: string
  /** The connection the request was written to. */
  readonly connection: AIPProtocol<'client'>
  settled: boolean
  settle: (error: unknown, result?: Record<string, unknown> | null) => void
}

/** The device-info requests of one device waiting for an answer, by request id. */
export class PendingInfos {
  readonly #entries = new Map<string, InfoEntry>()

  /** A fresh request id in the reference orchestrator's form, `device_info_<device>_<epoch seconds>`. */
  nextId (deviceId: string, now = Date.now()): string {
    const base = `device_info_${deviceId}_${(now / 1000).toFixed(6)}`
    let requestId = base
    for (let n = 2; this.#entries.has(requestId); n++) requestId = `${base}_${n}`
    return requestId
  }

  /**
   * Sends a DEVICE_INFO_REQUEST on `protocol` and resolves with the answer's record (or `null`); rejects on its
   * deadline (`TimeoutError` with `deviceId` and `requestId`), on `signal`, or when it cannot be sent. The answer
   * (or a correlated ERROR) settles it through its entry.
   */
  request (
    protocol: AIPProtocol<'client'>, options: { clientId: string, deviceId: string, timeoutMs: number, signal: AbortSignal | undefined }
  ): Promise<Record<string, unknown> | null> {
    const { clientId, deviceId, timeoutMs, signal } = options
    const requestId = this.nextId(deviceId)
    return new Promise((resolve, reject) => {
      const onAbort = (): void => entry.settle(new AbortedError(`device info request for ${deviceId}`, signal?.reason))
      const timer = setTimeout(() => entry.settle(new TimeoutError(`device info request for ${deviceId}`, timeoutMs, { deviceId, requestId })), timeoutMs)
      timer.unref()
      const entry: InfoEntry = {
        requestId,
        connection: protocol,
        settled: false,
        settle: (error, result) => {
          if (entry.settled) return
          entry.settled = true
          clearTimeout(timer)
          signal?.removeEventListener('abort', onAbort)
          this.#entries.delete(requestId)
          if (error !== undefined) reject(error)
          else resolve(result ?? null)
        }
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#entries.set(requestId, entry)
      protocol.send(buildDeviceInfoRequest({ clientId, targetId: deviceId, requestId })).catch((err: unknown) => {
        entry.settle(new DeviceDisconnectedError(deviceId, 'the device info request', 'the request could not be sent', { cause: err }))
      })
    })
  }

  get (requestId: string | null): InfoEntry | undefined {
    return requestId === null ? undefined : this.#entries.get(requestId)
  }

  /** The requests written to `connection`. */
  on (connection: AIPProtocol<'client'>): InfoEntry[] {
    return [...this.#entries.values()].filter((entry) => entry.connection === connection)
  }

  /** Rejects every request with the error `error` builds. */
  failAll (error: () => unknown): void {
    for (const entry of [...this.#entries.values()]) entry.settle(error())
  }
}

/** What an ERROR answers, if anything: a task, a device-info request, or nothing that can be told apart. */
export type ErrorTarget =
  | { readonly kind: 'task', readonly entry: TaskEntry }
  | { readonly kind: 'info', readonly entry: InfoEntry }
  | { readonly kind: 'none' }

/**
 * ERROR correlation. Our server fills `session_id` (and the request id as `response_id`); the reference fills
 * neither (B5). So: a matching session answers that task; a matching `response_id` answers that device-info
 * request; an ERROR without a session id answers the one request still waiting for an answer on this
 * connection (a TASK not yet acked, or a device-info request), if there is exactly one. Anything else is none.
 */
export function correlateError (
  message: DecodedServerMessage, connection: AIPProtocol<'client'>, tasks: TaskQueue, infos: PendingInfos
): ErrorTarget {
  if (message.session_id !== null) {
    const entry = tasks.running.get(message.session_id)
    if (entry !== undefined && entry.connection === connection) return { kind: 'task', entry }
  }
  const info = infos.get(message.response_id)
  if (info !== undefined) return { kind: 'info', entry: info }
  if (message.session_id === null) {
    const waiting = [...tasks.running.values()].filter((entry) => entry.connection === connection && entry.phase === 'sent')
    const asked = infos.on(connection)
    if (waiting.length + asked.length === 1) {
      const [task] = waiting
      if (task !== undefined) return { kind: 'task', entry: task }
      return { kind: 'info', entry: asked[0] as InfoEntry }
    }
  }
  return { kind: 'none' }
}
