import { Probe } from '../probe.js'
import { uniqueId, wsUrl, type ProbeResult, type Target } from '../target.js'

/** Size of {@link slowReader}. */
export interface SlowReaderOptions {
  /** Frames sent at most, each provoking an answer of several hundred bytes. */
  frames?: number
  /** How long the server has to close the connection once the client reads again. */
  closeWithinMs?: number
}

/**
 * A client that never reads what it is sent, while provoking answers: the server must stop buffering for it at
 * its outbound budget and close it (1008), rather than grow its memory without bound. The client stops reading,
 * sends client ERRORs (each echoed with a text of a few hundred bytes) until the server closes or `frames` were
 * sent, then reads again and must find the connection closed.
 */
export async function slowReader (target: Target, { frames = 60_000, closeWithinMs = 5000 }: SlowReaderOptions = {}): Promise<ProbeResult> {
  const name = 'a client that never reads its answers (outbound budget)'
  const clientId = uniqueId('slow-reader')
  const probe = await Probe.open(wsUrl(target))
  try {
    const answer = await probe.register(clientId)
    if (answer?.type !== 'heartbeat') return { name, refused: false, detail: `could not register: ${JSON.stringify(answer)}` }
    probe.ws.pause()
    const text = 'x'.repeat(400)
    let sent = 0
    for (; sent < frames && probe.isOpen; sent++) {
      const frame = { type: 'error', status: 'error', client_type: 'device', client_id: clientId, error: text }
      // Every 200 frames, wait for the write: the client's own buffer stays small.
      if (sent % 200 === 199) await probe.sendWritten(frame)
      else probe.send(frame)
    }
    probe.ws.resume()
    const code = await probe.closedWithin(closeWithinMs)
    return {
      name,
      refused: code !== 0,
      detail: code === 0
        ? `still open after ${sent} unread answers and ${closeWithinMs} ms of reading again (${probe.frames.length} answers read)`
        : `closed with ${code} after ${sent} frames sent (${probe.frames.length} answers read)`
    }
  } finally {
    probe.close()
  }
}
