import type { Teardown } from '@aip/test-support'
import { InMemoryClusterHub, type DeviceServerOptions, type InMemoryClusterHubOptions } from '../../src/index.js'
import { registeredConstellation, registeredDevice, startServer, type TestClient, type TestServer } from './harness.js'

/** Nodes of one in-memory cluster, each a real server on 127.0.0.1 port 0. */
export interface TestCluster {
  hub: InMemoryClusterHub
  /** Starts node `nodeId` with `options`. */
  node: (nodeId: string, options?: DeviceServerOptions) => Promise<TestServer>
}

/** A cluster hub whose nodes are started on demand and stopped at teardown. */
export function testCluster (t: Teardown, hubOptions: InMemoryClusterHubOptions = {}, defaults: DeviceServerOptions = {}): TestCluster {
  const hub = new InMemoryClusterHub(hubOptions)
  return {
    hub,
    node: async (nodeId, options = {}) => {
      const server = await startServer(t, { ...defaults, ...options, cluster: hub.link(nodeId) })
      await server.endpoint.start()
      return server
    }
  }
}

/** A device's COMMAND_RESULTS for `command`: one success per action. */
export function answer (clientId: string, command: Record<string, any>): Record<string, unknown> {
  return {
    type: 'command_results',
    status: 'continue',
    client_type: 'device',
    client_id: clientId,
    session_id: command.session_id,
    prev_response_id: command.response_id,
    action_results: command.actions.map((a: any) => ({ status: 'success', error: null, result: 'done', namespace: null, call_id: a.call_id }))
  }
}

/** A constellation's TASK. */
export function taskFrame (clientId: string, targetId: string, sessionId: string | null, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'task', status: 'continue', client_type: 'constellation', client_id: clientId, target_id: targetId, session_id: sessionId, request: 'Open Notepad', request_id: `r-${sessionId ?? 'none'}`, ...extra }
}

/** A forwarded session whose ack was lost on its way: see {@link taskWithLostAck}. */
export interface LostAckSession {
  cluster: TestCluster
  /** The device's node and the requester's. */
  a: TestServer
  b: TestServer
  device: TestClient
  galaxy: TestClient
  /** The device's first COMMAND of the session (not answered yet). */
  command: Record<string, any>
}

/**
 * Two nodes, device `dev-1` on node A and constellation `galaxy` on node B, and a TASK of session `sessionId` whose
 * ack the hub drops (notices lost, still lost when this returns): resolves once the device has its first COMMAND.
 */
export async function taskWithLostAck (t: Teardown, sessionId: string): Promise<LostAckSession> {
  const cluster = testCluster(t)
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-1')
  const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', 'dev-1')
  cluster.hub.setNoticesLost(true)
  galaxy.send(taskFrame('galaxy', 'dev-1', sessionId))
  const command = await device.next() as Record<string, any>
  return { cluster, a, b, device, galaxy, command }
}

/** Two nodes of `cluster`: device `dev-1` on node A, constellation `galaxy` (scoped to it) on node B. */
export async function crossNodePair (t: Teardown, cluster: TestCluster): Promise<{ a: TestServer, b: TestServer, device: TestClient, galaxy: TestClient }> {
  const a = await cluster.node('node-a')
  const b = await cluster.node('node-b')
  const device = await registeredDevice(t, a.wsUrl, 'dev-1')
  const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', 'dev-1')
  return { a, b, device, galaxy }
}

/**
 * One TASK of session `sessionId` across {@link crossNodePair}, run to its end: resolves with the first two frames
 * the requester got (the ack, then the TASK_END).
 */
export async function crossNodeTask (t: Teardown, cluster: TestCluster, sessionId: string): Promise<{ ack: Record<string, any>, end: Record<string, any> }> {
  const { device, galaxy } = await crossNodePair(t, cluster)
  const ack = await galaxy.ask(taskFrame('galaxy', 'dev-1', sessionId)) as Record<string, any>
  const command = await device.next() as Record<string, any>
  device.send(answer('dev-1', command))
  const end = await galaxy.next() as Record<string, any>
  return { ack, end }
}
