import { test } from 'tap'
import { ClusterUnavailableError, InMemoryClusterHub, type ClusterLink } from '../src/index.js'
import { Texts } from '../src/internal.js'
import { TestClient, deviceRegister, registeredConstellation, registeredDevice, startServer, until } from './helpers/harness.js'
import { continuityConstellation } from './helpers/continuity.js'
import { taskFrame } from './helpers/cluster.js'

/** Which calls of a link fail (with `AIP_ERR_CLUSTER_UNAVAILABLE`, or another error), switched on by the test. */
interface Faults { send?: boolean, locate?: boolean, claim?: 'unavailable' | 'other', sendToNode?: boolean }

/** A link that delegates to `link`, except for the calls `faults` makes fail. */
function faulty (link: ClusterLink, faults: Faults): ClusterLink {
  const unavailable = (operation: string): Promise<never> => Promise.reject(new ClusterUnavailableError(operation))
  return {
    get nodeId () { return link.nodeId },
    get nodeLeaseMs () { return link.nodeLeaseMs },
    get state () { return link.state },
    start: async (handlers) => await link.start(handlers),
    stop: async () => await link.stop(),
    claim: async (record, mode) => {
      if (faults.claim === 'unavailable') return await unavailable('claim')
      if (faults.claim === 'other') throw new Error('the store answered something unexpected')
      return await link.claim(record, mode)
    },
    release: async (clientId) => await link.release(clientId),
    update: async (record) => await link.update(record),
    locate: async (clientId) => faults.locate === true ? await unavailable('locate') : await link.locate(clientId),
    listClients: async () => await link.listClients(),
    follow: (clientId) => link.follow(clientId),
    unfollow: (clientId) => link.unfollow(clientId),
    send: async (clientId, message, wakeNode) => faults.send === true ? await unavailable('send') : await link.send(clientId, message, wakeNode),
    sendToNode: async (nodeId, message) => faults.sendToNode === true ? await unavailable('send to node') : await link.sendToNode(nodeId, message),
    isNodeAlive: async (nodeId) => await link.isNodeAlive(nodeId),
    listNodes: async () => await link.listNodes(),
    putResult: async (record) => await link.putResult(record),
    getResult: async (sessionId) => await link.getResult(sessionId),
    getResultByTaskName: async (taskName) => await link.getResultByTaskName(taskName)
  }
}

test('a store failure while forwarding or cancelling answers the requester with the cluster-unavailable ERROR and its ids', async (t) => {
  const hub = new InMemoryClusterHub()
  const faults: Faults = {}
  const a = await startServer(t, { cluster: hub.link('node-a') })
  await a.endpoint.start()
  const b = await startServer(t, { cluster: faulty(hub.link('node-b'), faults) })
  await b.endpoint.start()
  await registeredDevice(t, a.wsUrl, 'dev-f')
  const galaxy = await TestClient.connect(t, b.wsUrl)
  await galaxy.ask(continuityConstellation('galaxy', null))
  faults.locate = true
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-f', 'f@1')), { type: 'error', error: Texts.clusterUnavailable, session_id: 'f@1', response_id: 'r-f@1' }, 'the lookup failed')
  faults.locate = false
  faults.send = true
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-f', 'f@2')), { type: 'error', error: Texts.clusterUnavailable, session_id: 'f@2' }, 'the append failed')
  faults.send = false
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-f', 'f@2')), { type: 'heartbeat', session_id: 'f@2' }, 'the same session id goes through once the store answers')
  faults.send = true
  const cancel = { type: 'task_cancel', status: 'continue', client_type: 'constellation', client_id: 'galaxy', session_id: 'f@2', request_id: 'c-1' }
  t.match(await galaxy.ask(cancel), { type: 'error', error: Texts.clusterUnavailable, session_id: 'f@2', response_id: 'c-1' }, 'the cancel could not be sent')
  faults.send = false
  hub.setAvailable(false)
  t.match(await galaxy.ask(cancel), { type: 'error', error: Texts.clusterUnavailable, session_id: 'f@2' }, 'the store is down')
  hub.setAvailable(true)
  galaxy.send(cancel)
  t.match((await until(galaxy, (f) => f.type === 'task_end')).frame, { session_id: 'f@2', status: 'failed', error: Texts.cancelledByRequester })
})

test('a registration is accepted locally when its lease cannot be claimed, and claimed once the link is ready again', async (t) => {
  const hub = new InMemoryClusterHub()
  const faults: Faults = { claim: 'other' }
  const a = await startServer(t, { cluster: faulty(hub.link('node-a'), faults) })
  await a.endpoint.start()
  await registeredDevice(t, a.wsUrl, 'dev-odd')
  t.same(await a.endpoint.listClusterClients(), [], 'no lease yet')
  faults.claim = undefined
  hub.setAvailable(false)
  hub.setAvailable(true)
  let clients: string[] = []
  for (let i = 0; i < 200 && clients.length === 0; i++) {
    clients = (await a.endpoint.listClusterClients()).map((c) => c.clientId)
    if (clients.length === 0) await new Promise((resolve) => setTimeout(resolve, 2))
  }
  t.same(clients, ['dev-odd'], 'claimed by the reconciliation')
})

test('a probe that cannot be sent to the holder\'s node leaves the id to the new registration only once the store answers', async (t) => {
  const hub = new InMemoryClusterHub()
  const faults: Faults = {}
  const a = await startServer(t, { cluster: hub.link('node-a') })
  await a.endpoint.start()
  const b = await startServer(t, { cluster: faulty(hub.link('node-b'), faults) })
  await b.endpoint.start()
  await registeredDevice(t, a.wsUrl, 'dev-p')
  faults.sendToNode = true
  const second = await TestClient.connect(t, b.wsUrl)
  t.match(await second.ask(deviceRegister('dev-p')), { type: 'heartbeat', status: 'ok' }, 'accepted locally: the cluster could not be asked')
  t.match((await b.endpoint.listClusterClients()).map((c) => c.nodeId), ['node-a'], 'the lease stays with A until the store is reachable again')
  const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', 'dev-p')
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-p', 'p@1')), { type: 'heartbeat', session_id: 'p@1' }, 'B serves its local device')
})
