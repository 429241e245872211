import { sanitizeTaskName, type DecodedClientMessage } from '@aip/protocol'
import type { TaskRecord } from './results.js'

/** A server TASK sent to a device by `dispatch()`, until its TASK_END. */
export interface PendingDispatch {
  sessionId: string
  taskName: string
  request: string
  resolve: (record: TaskRecord) => void
  reject: (err: Error) => void
}

/** The dispatches sent to each device and not ended: claimed by the device's TASK, settled at its TASK_END. */
export class DispatchTable {
  readonly #byDevice = new Map<string, PendingDispatch[]>()

  /** Dispatches of `deviceId` not ended. */
  count (deviceId: string): number {
    return this.#byDevice.get(deviceId)?.length ?? 0
  }

  add (deviceId: string, pending: PendingDispatch): void {
    const list = this.#byDevice.get(deviceId)
    if (list === undefined) this.#byDevice.set(deviceId, [pending])
    else list.push(pending)
  }

  /** Dispatches of `deviceId` (every device when omitted) whose session is not running yet. */
  notTakenUp (isRunning: (sessionId: string) => boolean, deviceId?: string): number {
    const lists = deviceId === undefined ? [...this.#byDevice.values()] : [this.#byDevice.get(deviceId) ?? []]
    let count = 0
    for (const list of lists) for (const pending of list) if (!isRunning(pending.sessionId)) count++
    return count
  }

  /** Every dispatch not ended, with its device, oldest first per device. */
  * entries (): IterableIterator<[string, PendingDispatch]> {
    for (const [deviceId, list] of this.#byDevice) for (const pending of list) yield [deviceId, pending]
  }

  /** The dispatch a device's TASK takes up, if any. */
  claim (deviceId: string, message: DecodedClientMessage): PendingDispatch | undefined {
    const list = this.#byDevice.get(deviceId)
    if (list === undefined) return undefined
    // Our device echoes the session id; the Python device sends none, but the same task name and request.
    return list.find((pending) => message.session_id !== null
      ? pending.sessionId === message.session_id
      : pending.request === message.request && pending.taskName === sanitizeTaskName(message.task_name ?? ''))
  }

  /** Resolves (with the record) or rejects (with the error) one dispatch, and forgets it. */
  settle (deviceId: string, sessionId: string, outcome: TaskRecord | Error): void {
    const list = this.#byDevice.get(deviceId)
    const index = list?.findIndex((pending) => pending.sessionId === sessionId) ?? -1
    if (list === undefined || index === -1) return
    const [pending] = list.splice(index, 1)
    if (list.length === 0) this.#byDevice.delete(deviceId)
    if (outcome instanceof Error) pending?.reject(outcome)
    else pending?.resolve(outcome)
  }

  /** Rejects and forgets every dispatch of `deviceId` (the device is gone). */
  rejectDevice (deviceId: string, err: Error): void {
    const list = this.#byDevice.get(deviceId) ?? []
    this.#byDevice.delete(deviceId)
    for (const pending of list) pending.reject(err)
  }

  /** Rejects and forgets every dispatch (the server stopped). */
  rejectAll (err: () => Error): void {
    for (const [deviceId, list] of this.#byDevice) {
      for (const pending of list) pending.reject(err())
      this.#byDevice.delete(deviceId)
    }
  }
}
