import { connect } from 'node:net'
import { hostPort, type ProbeResult, type Target } from '../target.js'

/** Size of {@link unauthenticatedBody}. */
export interface UnauthenticatedBodyOptions {
  /** The Content-Length announced. */
  announcedBytes?: number
  /** Bytes of body actually sent before waiting for the answer. */
  sentBytes?: number
  /** How long the server has to close the connection after its refusal. */
  closeWithinMs?: number
}

/**
 * A request without credentials that announces a huge body: the server must refuse it (401) without reading the
 * body, and close the connection rather than drain what the client keeps sending.
 */
export async function unauthenticatedBody (target: Target, { announcedBytes = 50 * 1024 * 1024, sentBytes = 64 * 1024, closeWithinMs = 3000 }: UnauthenticatedBodyOptions = {}): Promise<ProbeResult> {
  const name = 'a huge body sent without credentials'
  const { host, port } = hostPort(target)
  const socket = connect({ host, port })
  socket.on('error', () => {})
  try {
    await new Promise<void>((resolve, reject) => { socket.once('connect', () => resolve()); socket.once('error', reject) })
    let answer = ''
    let closed = false
    const ended = new Promise<void>((resolve) => socket.once('close', () => { closed = true; resolve() }))
    socket.on('data', (chunk: Buffer) => { answer += chunk.toString('latin1') })
    socket.write(`POST ${target.prefix}/dispatch HTTP/1.1\r\nHost: ${host}:${port}\r\nContent-Type: application/json\r\nContent-Length: ${announcedBytes}\r\n\r\n`)
    socket.write(Buffer.alloc(sentBytes, 0x20))
    let timer: NodeJS.Timeout | undefined
    await Promise.race([ended, new Promise<void>((resolve) => { timer = setTimeout(resolve, closeWithinMs) })])
    clearTimeout(timer)
    const status = /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 'none'
    return {
      name,
      refused: closed && (status === '401' || status === '413' || status === '404'),
      detail: `answer HTTP ${status}; connection ${closed ? 'closed by the server' : `still open after ${closeWithinMs} ms, waiting to read the announced ${announcedBytes} bytes`}`
    }
  } finally {
    socket.destroy()
  }
}
