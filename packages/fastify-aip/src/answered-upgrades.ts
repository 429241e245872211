import { ServerResponse, type IncomingMessage, type Server } from 'node:http'
import type { Duplex } from 'node:stream'

// An upgrade request that Fastify answers with a plain HTTP response (a hook's 403, the 404 of a path with no
// WebSocket route, a 503 while closing) leaves its socket open: Node's HTTP parser let go of that socket when it
// emitted 'upgrade', so nothing reads another request from it and nothing closes it. @fastify/websocket destroys it
// in an `onResponse` hook, but only for requests its own `onRequest` hook has seen: not one an app's earlier hook
// answered, nor one routed to a context it is not registered in. A client that keeps such a socket open then holds
// a descriptor for as long as it likes, and `app.close()` (which waits for every socket) never finishes.

/** Closes the socket of an answered upgrade request once its response is written (`this`: the response). */
function closeAnsweredSocket (this: ServerResponse): void {
  const socket = this.socket
  if (socket != null && !socket.destroyed) socket.destroy()
}

/**
 * Makes `server` close the socket of every upgrade request answered with an HTTP response instead of a WebSocket,
 * once the response is written. Must be added after the listener that routes upgrades through Fastify
 * (`@fastify/websocket`'s, which gives the socket its response). Returns the function that removes it.
 */
export function closeAnsweredUpgrades (server: Server): () => void {
  const listener = (_request: IncomingMessage, socket: Duplex): void => {
    // The response @fastify/websocket assigned to the socket; none for an upgrade taken without Fastify.
    const response = (socket as Duplex & { _httpMessage?: unknown })._httpMessage
    if (!(response instanceof ServerResponse)) return
    if (response.writableFinished) closeAnsweredSocket.call(response)
    else response.once('finish', closeAnsweredSocket)
  }
  server.on('upgrade', listener)
  return () => { server.off('upgrade', listener) }
}
