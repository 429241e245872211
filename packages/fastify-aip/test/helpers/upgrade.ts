import { connect } from 'node:net'
import type { FastifyInstance } from 'fastify'

/** The two ways the plugin serves an upgrade on its path, for tests that run the same table on both. */
export const UPGRADE_MODES = ['route', 'direct'] as const

/** The port an app listens on. */
export function portOf (app: FastifyInstance): number {
  return (app.server.address() as { port: number }).port
}

/**
 * Sends a WebSocket upgrade request by hand and returns every byte the server wrote until it closed the
 * connection, with the `Date` header (the only line that differs between two answers) blanked.
 */
export async function rawUpgrade (port: number, path: string, headers: Record<string, string> = {}): Promise<string> {
  const lines = [
    `GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: Upgrade', 'Upgrade: websocket',
    'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)
  ]
  const socket = connect({ host: '127.0.0.1', port })
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  socket.write(`${lines.join('\r\n')}\r\n\r\n`)
  await new Promise<void>((resolve, reject) => {
    socket.once('close', () => resolve())
    socket.once('error', reject)
  })
  return Buffer.concat(chunks).toString('latin1').replace(/\r\nDate: [^\r]*/i, '\r\nDate: -')
}
