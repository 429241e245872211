import { TypedEmitter } from '@aip/resilience'
import { TransportClosedError } from './errors.js'
import type { CloseInfo, Transport, TransportEvents } from './transport.js'

class MemoryTransport implements Transport {
  readonly events = new TypedEmitter<TransportEvents>(() => {})
  peer!: MemoryTransport
  closed = false
  readonly bufferedAmount = 0

  get isOpen (): boolean {
    return !this.closed
  }

  send (data: string | Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new TransportClosedError())
    const copy = typeof data === 'string' ? data : Buffer.from(data)
    // Delivered asynchronously and in order, like a socket.
    queueMicrotask(() => {
      if (!this.peer.closed) this.peer.events.emit('message', copy)
    })
    return Promise.resolve()
  }

  close (code = 1000, reason = ''): void {
    this.#end(code, reason)
  }

  terminate (): void {
    this.#end(1006, '')
  }

  ping (): void {
    if (this.closed) return
    queueMicrotask(() => { if (!this.peer.closed && !this.closed) this.events.emit('pong', undefined) })
  }

  on<E extends keyof TransportEvents>(event: E, listener: (payload: TransportEvents[E]) => void): () => void {
    return this.events.on(event, listener)
  }

  #end (code: number, reason: string): void {
    if (this.closed) return
    this.finish({ code, reason, local: true })
    this.peer.finish({ code, reason, local: false })
  }

  finish (info: CloseInfo): void {
    if (this.closed) return
    this.closed = true
    queueMicrotask(() => {
      this.events.emit('close', info)
      this.events.clear()
    })
  }
}

/**
 * Two linked in-memory transports: what one sends, the other receives, in order and asynchronously. Closing one
 * closes both. For tests and for running endpoints in one process.
 */
export function createLinkedTransports (): [Transport, Transport] {
  const a = new MemoryTransport()
  const b = new MemoryTransport()
  a.peer = b
  b.peer = a
  return [a, b]
}
