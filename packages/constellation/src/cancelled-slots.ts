import type { AIPProtocol } from '@aip/endpoint'
import { buildTaskCancel } from '@aip/protocol'
import type { ConstellationHost } from './host.js'
import type { TaskEntry } from './task-queue.js'
import type { SlotReleaseCause } from './types.js'

/** Why a task was cancelled, as `task_cancel` tells the server. */
export type CancelReason = 'aborted' | 'timed out'

/** The slot of a cancelled task, held until the server confirms the session ended. */
interface Slot {
  readonly entry: TaskEntry
  readonly reason: CancelReason
  /** The connection `task_cancel` was written to, if it was. */
  sentOn: AIPProtocol<'client'> | undefined
  readonly timer: NodeJS.Timeout
}

/** What the slots need of their device. */
export interface SlotsOwner {
  readonly deviceId: string
  readonly clientId: string
  /** The device's registered, open connection, if any. */
  readonly sendable: AIPProtocol<'client'> | undefined
  /** A slot was released: the queue may send the next task. */
  released: () => void
}

/**
 * The device slots of sent tasks that were aborted or timed out on a server that granted `cancel`. The caller's
 * promise rejected at once, but the task still runs on the server until it has processed the `task_cancel`: its
 * slot stays taken (so the device never runs more than `maxConcurrentTasks`) until the TASK_END of its session
 * arrives, an ERROR refuses the cancel (the session had already ended), the connection is lost beyond its resume
 * window, or `cancelConfirmTimeoutMs` passes.
 */
export class CancelledSlots {
  readonly #slots = new Map<string, Slot>()
  readonly #host: ConstellationHost
  readonly #owner: SlotsOwner

  constructor (host: ConstellationHost, owner: SlotsOwner) {
    this.#host = host
    this.#owner = owner
  }

  /** Slots held. */
  get size (): number {
    return this.#slots.size
  }

  /** Whether the session's slot is held. */
  has (sessionId: string): boolean {
    return this.#slots.has(sessionId)
  }

  /** The cancelled task of a session whose slot is held on `connection`, if any. */
  on (sessionId: string | null, connection: AIPProtocol<'client'>): TaskEntry | undefined {
    const slot = sessionId === null ? undefined : this.#slots.get(sessionId)
    return slot !== undefined && slot.entry.connection === connection ? slot.entry : undefined
  }

  /** Holds the slot of a sent task that was just cancelled; {@link CancelledSlots.send} then sends its cancel. */
  hold (entry: TaskEntry, reason: CancelReason): void {
    const { deviceId } = this.#owner
    const timer = setTimeout(() => {
      this.#host.log.warn({ deviceId, taskId: entry.taskId, sessionId: entry.sessionId, traceId: entry.traceId, waitedMs: this.#host.options.cancelConfirmTimeoutMs },
        'no TASK_END confirmed the cancel: releasing the slot')
      this.release(entry.sessionId, 'timeout')
    }, this.#host.options.cancelConfirmTimeoutMs)
    timer.unref()
    const slot: Slot = { entry, reason, sentOn: undefined, timer }
    this.#slots.set(entry.sessionId, slot)
    this.#host.log.info({ deviceId, taskId: entry.taskId, sessionId: entry.sessionId, traceId: entry.traceId, reason }, 'task cancelled: its slot stays taken until the server ends the session')
  }

  /**
   * Sends the `task_cancel` of a held slot now if the connection its TASK was written to is the device's open one;
   * otherwise it goes out when the device resumes ({@link CancelledSlots.resend}).
   */
  send (sessionId: string): void {
    const slot = this.#slots.get(sessionId)
    const protocol = this.#owner.sendable
    if (slot !== undefined && protocol !== undefined && slot.entry.connection === protocol) this.#send(slot, protocol)
  }

  /**
   * The device resumed on `protocol`: every cancel not yet written there is sent on it (the session is alive on the
   * server again), and the slots follow the new connection.
   */
  resend (protocol: AIPProtocol<'client'>): void {
    for (const slot of this.#slots.values()) {
      slot.entry.connection = protocol
      if (slot.sentOn !== protocol) this.#send(slot, protocol)
    }
  }

  /** Frees a session's slot (`cause` says why); the queue may then send its next task. */
  release (sessionId: string, cause: SlotReleaseCause): boolean {
    const slot = this.#slots.get(sessionId)
    if (slot === undefined) return false
    this.#slots.delete(sessionId)
    clearTimeout(slot.timer)
    const { entry } = slot
    const { deviceId } = this.#owner
    this.#host.log.debug({ deviceId, taskId: entry.taskId, sessionId, traceId: entry.traceId, cause }, 'slot of a cancelled task released')
    this.#host.emit('slotReleased', { taskId: entry.taskId, sessionId, deviceId, cause })
    this.#owner.released()
    return true
  }

  /** Frees every slot (the connection is lost for good, or the device removed). */
  releaseAll (cause: SlotReleaseCause): void {
    for (const sessionId of [...this.#slots.keys()]) this.release(sessionId, cause)
  }

  #send (slot: Slot, protocol: AIPProtocol<'client'>): void {
    const { entry, reason } = slot
    const { deviceId, clientId } = this.#owner
    slot.sentOn = protocol
    const message = buildTaskCancel({ clientId, clientType: 'constellation', sessionId: entry.sessionId, targetId: deviceId, reason })
    this.#host.emit('taskCancelSent', { taskId: entry.taskId, sessionId: entry.sessionId, deviceId, reason })
    protocol.send(message).catch((err: unknown) => {
      // The connection is going: its close decides (resume, or release).
      this.#host.log.debug({ err, deviceId, taskId: entry.taskId, sessionId: entry.sessionId, traceId: entry.traceId }, 'task_cancel not sent')
    })
  }
}
