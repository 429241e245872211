import { randomUUID } from 'node:crypto'
import type { ServerCore } from '../core.js'
import type { Session } from '../session.js'
import type { SessionInfo } from '../types.js'
import type { ClusterSessionInfo, SessionsRequestMessage } from './link.js'
import type { ClusterRuntime } from './runtime.js'

/** A running session as `listSessions()` shows it. */
export function sessionInfo (core: ServerCore, session: Session): SessionInfo {
  return {
    sessionId: session.id,
    taskName: session.taskName,
    requesterId: session.requesterId,
    deviceId: session.deviceId,
    startedAt: session.startedAt,
    deviceAway: core.away.has(session.deviceId),
    requesterAway: core.away.has(session.requesterId),
    deadlineAt: session.deadlineAt
  }
}

/**
 * The sessions running on every live node: this node's, and those each other node answers within `waitMs` (a node
 * that does not answer in time is left out, and logged).
 */
export async function listClusterSessions (runtime: ClusterRuntime, waitMs: number): Promise<ClusterSessionInfo[]> {
  const { core, link } = runtime
  const nodes = (await link.listNodes()).filter((nodeId) => nodeId !== link.nodeId)
  const own = core.sessions.list().map((session) => ({ ...sessionInfo(core, session), nodeId: link.nodeId }))
  const answers = await Promise.all(nodes.map(async (nodeId) => await askNode(runtime, nodeId, waitMs)))
  const all: ClusterSessionInfo[] = [...own]
  for (const answer of answers) all.push(...answer)
  return all.sort((a, b) => a.startedAt - b.startedAt)
}

async function askNode (runtime: ClusterRuntime, nodeId: string, waitMs: number): Promise<ClusterSessionInfo[]> {
  const requestId = randomUUID()
  const answer = new Promise<ClusterSessionInfo[]>((resolve) => {
    const timer = setTimeout(() => {
      runtime.sessionRequests.delete(requestId)
      runtime.core.logger.warn({ nodeId }, 'cluster: a node did not list its sessions in time; left out')
      resolve([])
    }, waitMs)
    timer.unref()
    runtime.sessionRequests.set(requestId, (sessions) => {
      clearTimeout(timer)
      runtime.sessionRequests.delete(requestId)
      resolve(sessions.map((session) => ({ ...session, nodeId })))
    })
  })
  try {
    await runtime.link.sendToNode(nodeId, { kind: 'sessions_request', requestId, from: runtime.link.nodeId })
  } catch (err) {
    runtime.sessionRequests.get(requestId)?.([])
    throw err
  }
  return await answer
}

/** Answers another node's request for the sessions running here. */
export async function answerSessions (runtime: ClusterRuntime, request: SessionsRequestMessage): Promise<void> {
  const { core, link } = runtime
  const sessions = core.sessions.list().map((session) => sessionInfo(core, session))
  await link.sendToNode(request.from, { kind: 'sessions_answer', requestId: request.requestId, from: link.nodeId, sessions })
}
