import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import WebSocket, { WebSocketServer } from 'ws'
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

/**
 * Keeps the event loop alive until teardown: every timer of this package is unref()ed, so a test that only waits
 * on one would otherwise let the process exit.
 */
export function keepAlive (t: { teardown: (fn: () => void) => void }): void {
  const timer = setInterval(() => {}, 1000)
  t.teardown(() => clearInterval(timer))
}

/** A `ws` server on 127.0.0.1 port 0 and one client connected to it: the server's socket and the client. */
export async function socketPair (t: { teardown: (fn: () => unknown) => void }): Promise<{ socket: WebSocket, client: WebSocket }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  t.teardown(() => new Promise<void>((resolve) => {
    for (const socket of wss.clients) socket.terminate()
    wss.close(() => resolve())
  }))
  await once(wss, 'listening')
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`)
  t.teardown(() => client.terminate())
  await once(client, 'open')
  const [socket] = await accepted
  return { socket, client }
}

export { once }
