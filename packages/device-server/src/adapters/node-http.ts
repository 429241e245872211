import type { IncomingMessage, Server as HttpServer } from 'node:http'
import type { Duplex } from 'node:stream'
import { CloseCode, WebSocketTransport, type Logger, type Transport } from '@aip/endpoint'
import { WebSocketServer } from 'ws'
import type { AuthResult, Credential } from '../auth.js'
import { Texts } from '../texts.js'

/** What the Node HTTP adapter needs of a server. */
export interface UpgradeTarget {
  readonly logger: Logger
  readonly maxPayloadBytes: number
  readonly stopped: boolean
  readonly draining: boolean
  authenticate: (request: IncomingMessage) => AuthResult
  accept: (transport: Transport, credential: Credential) => void
}

const STATUS_TEXT: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 503: 'Service Unavailable' }

/**
 * Serves the WebSocket upgrades of a Node HTTP server on `path`: a refused request gets an HTTP 401, 403 or 503
 * before any WebSocket exists. Returns the function that detaches it.
 */
export function attachToHttpServer (target: UpgradeTarget, server: HttpServer, path: string): () => void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: target.maxPayloadBytes })
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const pathname = (request.url ?? '').split('?')[0]
    if (pathname !== path) return
    const auth = target.authenticate(request)
    if (!auth.ok || target.stopped) {
      const status = auth.ok ? 503 : auth.status
      target.logger.warn({ status, reason: auth.ok ? 'stopped' : auth.reason, remoteAddress: request.socket.remoteAddress }, 'websocket upgrade refused')
      socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
      return
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      if (target.draining) ws.close(CloseCode.ServiceRestart, Texts.serverDraining)
      else target.accept(new WebSocketTransport(ws), auth.credential)
    })
  }
  server.on('upgrade', onUpgrade)
  return () => {
    server.off('upgrade', onUpgrade)
    wss.close()
  }
}
