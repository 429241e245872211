import type { CloseInfo, Transport, TransportEvents } from '@aip/endpoint'
import { CONTINUITY_CAPABILITIES } from '@aip/protocol'
import { TypedEmitter } from '@aip/resilience'
import type { Teardown } from '@aip/test-support'
import { Clock } from '@tapjs/clock'
import { DeviceServerEndpoint, type Agent, type DeviceServerEvents, type DeviceServerOptions } from '../../src/index.js'

/** `metadata.aip_capabilities` asking for every capability of the continuity extension. */
export const ALL = [...CONTINUITY_CAPABILITIES]

/** A device REGISTER that asks for `capabilities`. */
export function continuityDevice (clientId: string, capabilities: readonly string[] = ALL): Record<string, unknown> {
  return { type: 'register', status: 'ok', client_type: 'device', client_id: clientId, metadata: { platform: 'windows', aip_capabilities: capabilities } }
}

/** A constellation REGISTER scoped to `targetId` that asks for `capabilities`. */
export function continuityConstellation (clientId: string, targetId: string | null, capabilities: readonly string[] = ALL): Record<string, unknown> {
  return { type: 'register', status: 'ok', client_type: 'constellation', client_id: clientId, target_id: targetId, metadata: { aip_capabilities: capabilities } }
}

/** A constellation's TASK for `targetId`. */
export function task (clientId: string, targetId: string, sessionId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'task', status: 'continue', client_type: 'constellation', client_id: clientId, target_id: targetId, session_id: sessionId, request: 'Open Notepad', ...extra }
}

/** The COMMAND_RESULTS a device sends for `command`: one success per action. */
export function results (clientId: string, command: Record<string, any>): Record<string, unknown> {
  return {
    type: 'command_results',
    status: 'continue',
    client_type: 'device',
    client_id: clientId,
    session_id: command.session_id,
    prev_response_id: command.response_id,
    action_results: command.actions.map((a: any) => ({ status: 'success', error: null, result: 'done', namespace: null, call_id: a.call_id }))
  }
}

/** Runs `steps` COMMANDs of one action each, then completes. */
export function stepsAgent (steps: number): Agent {
  return async (_task, context) => {
    for (let step = 0; step < steps; step++) {
      await context.execute([{ tool_name: 'click', parameters: { step }, tool_type: 'action' }])
    }
    return { status: 'completed' }
  }
}

/**
 * A transport driven by the test: `receive()` hands the server a frame, `sent` holds what the server wrote (parsed),
 * pings are never answered, and a close the server asks for takes effect only at `release()` — so that frames can
 * still reach a connection the server has already replaced.
 */
export class HeldTransport implements Transport {
  readonly events = new TypedEmitter<TransportEvents>(() => {})
  readonly sent: Array<Record<string, any>> = []
  readonly bufferedAmount = 0
  closing: CloseInfo | null = null
  #closed = false
  #read = 0
  #waiter: (() => void) | null = null

  get isOpen (): boolean {
    return !this.#closed
  }

  async send (data: string | Uint8Array): Promise<void> {
    if (this.#closed) throw new Error('closed')
    this.sent.push(JSON.parse(data.toString()) as Record<string, any>)
    const waiter = this.#waiter
    this.#waiter = null
    waiter?.()
  }

  /** The next frame the server wrote that the test has not read yet (waits for it). */
  async next (): Promise<Record<string, any>> {
    while (this.#read >= this.sent.length) await new Promise<void>((resolve) => { this.#waiter = resolve })
    return this.sent[this.#read++] as Record<string, any>
  }

  close (code = 1000, reason = ''): void {
    this.closing ??= { code, reason, local: true }
  }

  terminate (): void {
    this.closing ??= { code: 1006, reason: '', local: true }
  }

  ping (): void {}

  on<E extends keyof TransportEvents>(event: E, listener: (payload: TransportEvents[E]) => void): () => void {
    return this.events.on(event, listener)
  }

  /** The peer sends `frame`. */
  receive (frame: Record<string, unknown>): void {
    this.events.emit('message', JSON.stringify(frame))
  }

  /** The close the server asked for completes (or the peer's `code` when the server asked none). */
  release (code = 1006): void {
    if (this.#closed) return
    this.#closed = true
    this.events.emit('close', this.closing ?? { code, reason: '', local: false })
    this.events.clear()
  }
}

/** The next `event` of `endpoint` (the listener is removed once it fired). */
export async function nextEvent<K extends keyof DeviceServerEvents> (endpoint: DeviceServerEndpoint, event: K): Promise<DeviceServerEvents[K]> {
  return await new Promise((resolve) => {
    const stop = endpoint.on(event, (payload) => { stop(); resolve(payload) })
  })
}

/** Drops `client`'s connection abruptly (no close frame) and resolves once the server made its client away. */
export async function dropConnection (endpoint: DeviceServerEndpoint, client: { ws: { terminate: () => void } }): Promise<DeviceServerEvents['clientAway']> {
  const away = nextEvent(endpoint, 'clientAway')
  client.ws.terminate()
  return await away
}

/**
 * An endpoint on a fake clock (its `now` reads the fake time too) whose connections are {@link HeldTransport}s made
 * by `connect()`; stopped, and the clock restored, at the end of the test.
 */
export function heldServer (t: Teardown, options: DeviceServerOptions): { endpoint: DeviceServerEndpoint, clock: Clock, connect: () => HeldTransport } {
  const clock = new Clock()
  clock.enter()
  // The endpoint's default clock is the real Date.now, taken before the fake clock entered: read the fake one.
  const endpoint = new DeviceServerEndpoint({ pingIntervalMs: 0, now: () => Date.now(), ...options })
  t.teardown(async () => {
    await endpoint.stop()
    clock.exit()
  })
  return { endpoint, clock, connect: heldConnector(t, endpoint) }
}

/** Makes in-process peers of `endpoint`: each call hands it a new {@link HeldTransport}, released at the end of the test. */
export function heldConnector (t: Teardown, endpoint: DeviceServerEndpoint): () => HeldTransport {
  return () => {
    const transport = new HeldTransport()
    endpoint.handleTransport(transport)
    t.teardown(() => transport.release())
    return transport
  }
}
