import { connect, type Socket } from 'node:net'
import { hostPort, type ProbeResult, type Target } from '../target.js'

/** Size of {@link idleConnections}. */
export interface IdleConnectionsOptions {
  /** TCP connections opened, none of which sends anything. */
  connections?: number
  /** How long the server has to close all of them. */
  closeWithinMs?: number
}

/** A TCP connection that sends nothing; `closed` resolves when the server ends it. */
export interface IdleSocket { socket: Socket, closed: Promise<void>, isClosed: () => boolean }

/** Opens a TCP connection to the target and sends nothing. */
export async function openIdle (target: Target): Promise<IdleSocket> {
  const { host, port } = hostPort(target)
  const socket = connect({ host, port })
  let done = false
  socket.on('error', () => {})
  const closed = new Promise<void>((resolve) => socket.once('close', () => { done = true; resolve() }))
  await Promise.race([new Promise<void>((resolve) => socket.once('connect', () => resolve())), closed])
  return { socket, closed, isClosed: () => done }
}

/**
 * TCP connections that never send a request hold a descriptor each: the server must close them (a headers
 * deadline) and cap how many one address holds. Opens `connections` of them and waits for the server to close
 * every one.
 */
export async function idleConnections (target: Target, { connections = 300, closeWithinMs = 20_000 }: IdleConnectionsOptions = {}): Promise<ProbeResult> {
  const name = 'TCP connections that never send a request'
  const sockets: IdleSocket[] = []
  try {
    for (let i = 0; i < connections; i++) sockets.push(await openIdle(target))
    const closedAtOnce = sockets.filter((s) => s.isClosed()).length
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      Promise.all(sockets.map(async (s) => await s.closed)),
      new Promise<void>((resolve) => { timer = setTimeout(resolve, closeWithinMs) })
    ])
    clearTimeout(timer)
    const closed = sockets.filter((s) => s.isClosed()).length
    return {
      name,
      refused: closed === connections,
      detail: `${closed}/${connections} closed by the server within ${closeWithinMs} ms (${closedAtOnce} refused at once)`
    }
  } finally {
    for (const s of sockets) s.socket.destroy()
  }
}
