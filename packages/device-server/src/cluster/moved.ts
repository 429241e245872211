import { CloseCode } from '@aip/endpoint'
import { takeBack } from '../away.js'
import { ClientNotConnectedError } from '../errors.js'
import { Texts } from '../texts.js'
import type { ClusterRuntime } from './runtime.js'

/*
 * A client id this node held was taken by another node (a registration there fenced our lease, or our lease ran
 * out and was taken): the local connection is closed as replaced, and the local state of the id ends without
 * touching the lease, which is no longer ours.
 * - Sessions this node runs on the device end with `device moved to another node` (their agent ran here).
 * - Sessions this node runs for the requester go on: their frames now go to the requester's mailbox, which its
 *   new node follows.
 * - Sessions the requester had forwarded from here are forgotten here: the device's node sends their frames to the
 *   requester's mailbox.
 */

/** Ends the local state of `clientId` after another node (`byNode`, when known) took the id. */
export function dropMovedClient (runtime: ClusterRuntime, clientId: string, byNode: string | null): void {
  const { core, link } = runtime
  link.unfollow(clientId)
  runtime.pendingClaims.delete(clientId)
  const connection = core.clients.get(clientId)
  if (connection !== undefined) {
    core.clients.delete(clientId)
    connection.close(CloseCode.Replaced, Texts.movedToAnotherNode)
    connection.transport.terminate()
  }
  const away = connection === undefined ? takeBack(core, clientId) : undefined
  const identity = connection?.identity ?? away?.identity
  if (identity === undefined || identity === null) return
  core.options.registry.remove(clientId)
  core.logger.info({ clientId, nodeId: byNode }, 'cluster: the client registered on another node; its local state ends here')
  if (identity.clientType === 'device') {
    for (const session of core.sessions.list()) {
      if (session.deviceId === clientId) core.cancelSession(session, 'device moved to another node')
    }
    core.dispatches.rejectDevice(clientId, new ClientNotConnectedError(clientId))
  }
  for (const session of core.sessions.list()) {
    if (session.requesterId !== clientId || session.deviceId === clientId) continue
    const remote = runtime.remote.get(session.id)
    if (remote !== undefined) {
      if (byNode !== null) remote.nodeId = byNode
      continue
    }
    // Its ack was written here, to its connection then.
    runtime.remote.set(session.id, { requesterId: clientId, nodeId: byNode ?? link.nodeId, resumable: true, acks: 1 })
  }
  for (const forwarded of [...runtime.forwarded.values()]) {
    if (forwarded.requesterId === clientId) runtime.forwarded.delete(forwarded.sessionId)
  }
  core.events.emit('clientDisconnected', { clientId, clientType: identity.clientType, code: CloseCode.Replaced, reason: Texts.movedToAnotherNode })
}
