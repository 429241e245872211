import { randomUUID } from 'node:crypto'
import type { RegistrationClaim } from '@aip/endpoint'
import type { ClientConnection } from '../connection.js'
import { ClusterUnavailableError } from '../errors.js'
import type { ClientRecord } from '../registry.js'
import type { ClaimOutcome, ClusterClient, ProbeMessage } from './link.js'
import { dropMovedClient } from './moved.js'
import { clusterRecord, type ClusterRuntime } from './runtime.js'

/*
 * Registration across nodes: a client id is unique cluster-wide. The lease is claimed `if-absent` after the local
 * rules; held by a live connection on another node, the REGISTER is refused as a duplicate; held by a dead
 * connection (no pong within `takeoverProbeMs`), an away client, a node that does not answer or a lost node, it is
 * taken over and the old holder is fenced. While the store is unavailable, a registration is accepted locally and
 * its lease claimed when the store is back (`reconcile`).
 */

/** Time added to `takeoverProbeMs` for the probe's two trips through the store. */
export const PROBE_MARGIN_MS = 1000

/** Takes the lease of a registering client; false when a live connection on another node holds the id. */
export async function admitRegistration (runtime: ClusterRuntime, connection: ClientConnection, claim: RegistrationClaim, record: ClientRecord): Promise<boolean> {
  const { link, core } = runtime
  const data = clusterRecord(record)
  let outcome: ClaimOutcome
  try {
    outcome = await link.claim(data, 'if-absent')
    if (outcome.claimed) return true
    const holder = outcome.holder
    if (holder.nodeId !== link.nodeId && await holderAlive(runtime, holder)) {
      core.logger.info({ clientId: claim.clientId, nodeId: holder.nodeId }, 'cluster: the id is held by a live connection on another node')
      return false
    }
    if (connection.closed) return true
    outcome = await link.claim(data, 'takeover')
  } catch (err) {
    // The store could not be asked (or answered an error): the client is served locally, its lease claimed later.
    if (err instanceof ClusterUnavailableError) core.logger.warn({ clientId: claim.clientId }, 'cluster unavailable: registration accepted locally; its lease is claimed when the cluster is back')
    else core.logger.error({ err, clientId: claim.clientId }, 'cluster: lease claim failed; registration accepted locally, claimed again when the link is ready')
    runtime.pendingClaims.add(claim.clientId)
    return true
  }
  if (outcome.claimed) notifyReplaced(runtime, claim.clientId, outcome.replacedNode)
  return true
}

/** Tells the node a takeover fenced that the id left it (its lease sweep would find out too, later). */
function notifyReplaced (runtime: ClusterRuntime, clientId: string, replacedNode: string | null): void {
  const { link, core } = runtime
  if (replacedNode === null || replacedNode === link.nodeId) return
  core.logger.info({ clientId, nodeId: replacedNode }, 'cluster: took the id over from another node')
  link.sendToNode(replacedNode, { kind: 'fenced', clientId, by: link.nodeId })
    .catch((err: unknown) => { core.logger.debug({ err, clientId }, 'cluster: fenced notice not sent (the lease sweep tells the node)') })
}

/**
 * Is the connection of `holder` alive on its node? Asks the node (a probe through its mailbox, answered within
 * `takeoverProbeMs` plus a margin); a lost node, or no answer in time, counts as dead.
 */
async function holderAlive (runtime: ClusterRuntime, holder: ClusterClient): Promise<boolean> {
  const { link, core } = runtime
  if (!await link.isNodeAlive(holder.nodeId)) return false
  const probeId = randomUUID()
  const answer = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      runtime.probes.delete(probeId)
      resolve(false)
    }, core.options.takeoverProbeMs + PROBE_MARGIN_MS)
    timer.unref()
    runtime.probes.set(probeId, (alive) => {
      clearTimeout(timer)
      resolve(alive)
    })
  })
  try {
    await link.sendToNode(holder.nodeId, { kind: 'probe', probeId, clientId: holder.clientId, from: link.nodeId })
  } catch (err) {
    runtime.probes.get(probeId)?.(false)
    runtime.probes.delete(probeId)
    throw err
  }
  return await answer
}

/** Answers a probe from another node: is the connection of this client id here alive? */
export async function answerProbe (runtime: ClusterRuntime, probe: ProbeMessage): Promise<void> {
  const { core, link } = runtime
  const connection = core.clients.get(probe.clientId)
  const alive = connection === undefined ? false : await connection.probe(core.options.takeoverProbeMs)
  core.logger.info({ clientId: probe.clientId, from: probe.from, alive }, 'cluster: probed a connection for another node')
  await link.sendToNode(probe.from, { kind: 'probe_answer', probeId: probe.probeId, clientId: probe.clientId, alive })
}

/**
 * The store is back: claims the leases of the clients registered meanwhile. The newer registration wins: a
 * holder on another node registered after ours keeps the id (ours is ended as replaced); an older one is taken
 * over.
 */
export async function reconcile (runtime: ClusterRuntime): Promise<void> {
  const { core, link } = runtime
  for (const clientId of [...runtime.pendingClaims]) {
    const record = core.options.registry.get(clientId)
    if (record === undefined || (!core.clients.has(clientId) && !core.away.has(clientId))) {
      runtime.pendingClaims.delete(clientId)
      continue
    }
    const data = clusterRecord(record)
    let outcome = await link.claim(data, 'if-absent')
    if (!outcome.claimed && outcome.holder.nodeId !== link.nodeId && outcome.holder.registeredAt > record.registeredAt) {
      runtime.pendingClaims.delete(clientId)
      core.logger.warn({ clientId, nodeId: outcome.holder.nodeId }, 'cluster: the id registered on another node later: the local registration is replaced')
      dropMovedClient(runtime, clientId, outcome.holder.nodeId)
      continue
    }
    if (!outcome.claimed) outcome = await link.claim(data, 'takeover')
    runtime.pendingClaims.delete(clientId)
    if (outcome.claimed) notifyReplaced(runtime, clientId, outcome.replacedNode)
    core.logger.info({ clientId }, 'cluster: lease claimed after the cluster came back')
  }
}
