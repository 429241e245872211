import type { CloseInfo, Transport, TransportEvents } from '@aip/endpoint'
import { buildDeviceRegistration, buildTaskRequest, encodeClientMessage } from '@aip/protocol'
import { test } from 'tap'
import { DeviceServerEndpoint, type TaskRecord } from '../src/index.js'

/**
 * A transport whose socket stops being open at once but reports its close only when told: what a WebSocket
 * does between a peer's close frame (or a network error) and its 'close' event.
 */
class SlowClosingTransport implements Transport {
  isOpen = true
  readonly bufferedAmount = 0
  readonly sent: string[] = []
  readonly #listeners: { [E in keyof TransportEvents]?: Array<(payload: TransportEvents[E]) => void> } = {}

  async send (data: string | Uint8Array): Promise<void> {
    if (!this.isOpen) throw new Error('closed')
    this.sent.push(String(data))
  }

  close (): void { this.isOpen = false }
  terminate (): void { this.isOpen = false }
  ping (): void {}

  on<E extends keyof TransportEvents>(event: E, listener: (payload: TransportEvents[E]) => void): () => void {
    const list = (this.#listeners[event] ??= []) as Array<(payload: TransportEvents[E]) => void>
    list.push(listener)
    return () => { list.splice(list.indexOf(listener), 1) }
  }

  emit<E extends keyof TransportEvents>(event: E, payload: TransportEvents[E]): void {
    for (const listener of [...(this.#listeners[event] ?? [])] as Array<(payload: TransportEvents[E]) => void>) listener(payload)
  }
}

test('a device lost before its close is handled fails the task as a disconnect, not as an agent error', async (t) => {
  const device = new SlowClosingTransport()
  const endpoint = new DeviceServerEndpoint({
    pingIntervalMs: 0,
    agent: async (_task, context) => {
      device.terminate() // gone, but no 'close' event yet
      await context.execute([{ tool_name: 'a', tool_type: 'action' }])
      return { status: 'completed' }
    }
  })
  t.teardown(() => endpoint.stop())
  endpoint.handleTransport(device)
  const ended = new Promise<TaskRecord>((resolve) => endpoint.on('taskEnd', resolve))
  device.emit('message', encodeClientMessage(buildDeviceRegistration({ clientId: 'dev' })))
  device.emit('message', encodeClientMessage(buildTaskRequest({ clientId: 'dev', clientType: 'device', request: 'go' })))
  const record = await ended
  t.same([record.status, record.error], ['failed', 'Task was cancelled because target device disconnected'])
  device.emit('close', { code: 1006, reason: '', local: false } satisfies CloseInfo)
})
