import { setImmediate as realTurn } from 'node:timers/promises'
import { Clock } from '@tapjs/clock'
import { ConstellationEndpoint, type ConstellationEvents } from '../src/index.js'
import { scriptedServer, serverFrame, type ScriptedSocket, type Teardown } from './helpers.js'

/** What a scripted server grants in its registration answer. */
export interface GrantInput {
  capabilities?: string[]
  epoch?: number
  resumeWindowMs?: number
  resumed?: boolean
}

/** A registration answer (HEARTBEAT ok) carrying a continuity grant in its `aip` extension field. */
export function grantAnswer (grant: GrantInput = {}): Record<string, unknown> {
  return {
    ...serverFrame({ type: 'heartbeat', status: 'ok' }),
    aip: {
      capabilities: grant.capabilities ?? ['resume', 'cancel', 'deadline'],
      epoch: grant.epoch ?? 1,
      resume_window_ms: grant.resumeWindowMs ?? 30_000,
      resumed: grant.resumed ?? false
    }
  }
}

/** HEARTBEAT ok: a plain registration answer, or a task's ack with `session_id`. */
export const ok = (fields: Record<string, unknown> = {}): Record<string, unknown> => serverFrame({ type: 'heartbeat', status: 'ok', ...fields })

/** The TASK_END of a session. */
export const taskEnd = (sessionId: unknown, status = 'completed', fields: Record<string, unknown> = {}): Record<string, unknown> =>
  serverFrame({ type: 'task_end', status, session_id: sessionId, ...fields })

/** The next `event` of the constellation that `accept` takes (every one by default). */
export function nextEvent<K extends keyof ConstellationEvents> (
  endpoint: ConstellationEndpoint, event: K, accept: (payload: ConstellationEvents[K]) => boolean = () => true
): Promise<ConstellationEvents[K]> {
  return new Promise((resolve) => {
    const off = endpoint.on(event, (payload) => {
      if (!accept(payload)) return
      off()
      resolve(payload)
    })
  })
}

/** Records the named events of a constellation, in order, as short lines (`taskSent a`, `slotReleased a task_end`...). */
export function eventLog (endpoint: ConstellationEndpoint): string[] {
  const log: string[] = []
  const id = (sessionId: string): string => sessionId.slice(sessionId.indexOf('@') + 1)
  endpoint.on('taskSent', ({ sessionId, resent }) => log.push(`taskSent ${id(sessionId)}${resent === true ? ' resent' : ''}`))
  endpoint.on('taskAck', ({ sessionId }) => log.push(`taskAck ${id(sessionId)}`))
  endpoint.on('taskEnd', ({ sessionId, outcome }) => log.push(`taskEnd ${id(sessionId)} ${outcome}`))
  endpoint.on('taskCancelSent', ({ sessionId, reason }) => log.push(`taskCancelSent ${id(sessionId)} ${reason}`))
  endpoint.on('slotReleased', ({ sessionId, cause }) => log.push(`slotReleased ${id(sessionId)} ${cause}`))
  endpoint.on('deviceAway', ({ tasks, windowMs }) => log.push(`deviceAway ${tasks} ${windowMs}`))
  endpoint.on('deviceResumed', ({ tasks, epoch }) => log.push(`deviceResumed ${tasks} ${epoch}`))
  return log
}

/** Enters a fake clock (timers, `Date`) for the rest of a test; real sockets keep working. */
export function useClock (t: Teardown): Clock {
  const clock = new Clock()
  clock.enter()
  t.teardown(() => { clock.exit() })
  return clock
}

/** Lets pending I/O and promise callbacks run: one real (not faked) macrotask turn, `turns` times. */
export async function settle (turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await realTurn()
}

/** Whether a promise has settled yet (after letting pending callbacks run). */
export async function isSettled (promise: Promise<unknown>): Promise<boolean> {
  let settled = false
  promise.then(() => { settled = true }, () => { settled = true })
  await settle()
  return settled
}

/**
 * A server granting `capabilities` that acks every TASK and records every frame after the REGISTER; the test answers
 * through `socket()` (the current connection).
 */
export async function grantingServer (t: Teardown, capabilities: string[]): Promise<{ url: string, frames: Array<Record<string, any>>, socket: () => ScriptedSocket }> {
  const frames: Array<Record<string, any>> = []
  let current: ScriptedSocket | undefined
  const { url } = await scriptedServer(t, async (socket) => {
    current = socket
    await socket.next()
    socket.send(grantAnswer({ capabilities }))
    for (;;) {
      const frame = await socket.next(10_000)
      frames.push(frame)
      if (frame.type === 'task') socket.send(ok({ session_id: frame.session_id }))
    }
  })
  return { url, frames, socket: () => current as ScriptedSocket }
}

/** A constellation (task name `g`) connected to device `dev1` through the server at `url`; stopped at the end of the test. */
export async function connectedConstellation (t: Teardown, url: string): Promise<ConstellationEndpoint> {
  const constellation = new ConstellationEndpoint({ taskName: 'g' })
  t.teardown(() => constellation.stop())
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: url })
  return constellation
}
