import { randomUUID } from 'node:crypto'
import type { Server } from 'node:http'
import { WebSocketServer, type WebSocket } from 'ws'
import { BENCH_COMMAND, serverFrame } from './frames.js'

// The baseline: a minimal AIP server on bare `ws` that speaks the same frames as the real one. JSON.parse without
// validation, Maps for state, a trivial one-command agent, no auth, no limits, no ordering guarantees beyond
// what the socket gives.

interface Client { ws: WebSocket, id: string, type: string }
interface Task { sessionId: string, request: string, requester: WebSocket, device: WebSocket }

export interface BaselineServer {
  registered: () => number
  close: () => Promise<void>
}

export function startBaselineServer (server: Server, onRegistered: () => void): BaselineServer {
  const wss = new WebSocketServer({ server, path: '/ws' })
  const clients = new Map<string, Client>()
  const pending = new Map<string, Task>()

  wss.on('connection', (ws) => {
    let me: Client | undefined
    ws.on('message', (data) => {
      let msg: any
      try { msg = JSON.parse(data.toString()) } catch { return }
      if (me === undefined) {
        if (msg.type !== 'register' || typeof msg.client_id !== 'string' || clients.has(msg.client_id)) {
          ws.send(serverFrame({ type: 'error', status: 'error', error: 'registration refused' }))
          ws.close()
          return
        }
        me = { ws, id: msg.client_id, type: msg.client_type ?? 'device' }
        clients.set(me.id, me)
        ws.send(serverFrame({ type: 'heartbeat', status: 'ok' }))
        onRegistered()
        return
      }
      switch (msg.type) {
        case 'heartbeat':
          ws.send(serverFrame({ type: 'heartbeat', status: 'ok' }))
          return
        case 'task': {
          const device = clients.get(msg.target_id ?? me.id)
          const sessionId = msg.session_id ?? randomUUID()
          if (device === undefined) {
            ws.send(serverFrame({ type: 'error', status: 'error', error: 'target not connected', session_id: sessionId }))
            return
          }
          ws.send(serverFrame({ type: 'heartbeat', status: 'ok', session_id: sessionId }))
          const responseId = randomUUID()
          pending.set(responseId, { sessionId, request: msg.request, requester: ws, device: device.ws })
          device.ws.send(serverFrame({
            type: 'command',
            status: 'continue',
            agent_name: 'HostAgent',
            actions: [{ ...BENCH_COMMAND, call_id: randomUUID() }],
            session_id: sessionId,
            task_name: sessionId,
            response_id: responseId
          }))
          return
        }
        case 'command_results': {
          const task = pending.get(msg.prev_response_id)
          if (task === undefined) return
          pending.delete(msg.prev_response_id)
          const end = serverFrame({ type: 'task_end', status: 'completed', session_id: task.sessionId, result: [{ request: task.request, result: msg.action_results }] })
          task.requester.send(end)
          if (task.device !== task.requester) task.device.send(end)
        }
      }
    })
    ws.on('close', () => {
      if (me !== undefined && clients.get(me.id)?.ws === ws) clients.delete(me.id)
    })
  })

  return {
    registered: () => clients.size,
    close: async () => {
      for (const client of wss.clients) client.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    }
  }
}
