import { once } from 'node:events'
import { AIPProtocol, type ProtocolOptions } from '../src/protocol/index.js'
import { createLinkedTransports } from '../src/memory-transport.js'
import type { Transport } from '../src/transport.js'

/** A client protocol and a server protocol linked in memory, with their raw transports. */
export function linkedProtocols (
  clientOptions: Omit<ProtocolOptions<'client'>, 'role'> = {},
  serverOptions: Omit<ProtocolOptions<'server'>, 'role'> = {}
): { client: AIPProtocol<'client'>, server: AIPProtocol<'server'>, clientTransport: Transport, serverTransport: Transport } {
  const [clientTransport, serverTransport] = createLinkedTransports()
  const client = new AIPProtocol(clientTransport, { ...clientOptions, role: 'client' })
  const server = new AIPProtocol(serverTransport, { ...serverOptions, role: 'server' })
  return { client, server, clientTransport, serverTransport }
}

/** Resolves with the next payload of a `{ on(event, fn) => unsubscribe }` emitter. */
export function nextEvent<T> (emitter: { on: (event: never, listener: (payload: never) => void) => () => void }, event: string): Promise<T> {
  return new Promise((resolve) => {
    const off = (emitter.on as unknown as (event: string, listener: (payload: T) => void) => () => void)(event, (payload) => {
      off()
      resolve(payload)
    })
  })
}

/** Collects every payload of an event into an array. */
export function collect<T> (emitter: { on: (event: never, listener: (payload: never) => void) => () => void }, event: string): T[] {
  const items: T[] = []
  ;(emitter.on as unknown as (event: string, listener: (payload: T) => void) => () => void)(event, (payload) => { items.push(payload) })
  return items
}

/** Lets queued microtasks and immediate callbacks run. */
export async function settle (rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve))
}

export { once }

/**
 * Keeps the event loop alive until teardown: every timer of this package is unref()ed, so a test that only waits
 * on one would otherwise let the process exit.
 */
export function keepAlive (t: { teardown: (fn: () => void) => void }): void {
  const timer = setInterval(() => {}, 1000)
  t.teardown(() => clearInterval(timer))
}
