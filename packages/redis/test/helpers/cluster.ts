// Nodes of one cluster on a real redis-server: each a DeviceServerEndpoint on 127.0.0.1 port 0 with its own
// RedisCluster, all on one key prefix per test.
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import { registeredDevice, type TestClient } from '@aip/test-support'
import { DeviceServerEndpoint, type DeviceServerOptions } from '@aip/device-server'
import { RedisCluster } from '../../src/index.js'
import type { RedisClusterOptions } from '../../src/index.js'
import type { RedisServer } from './redis-server.js'

interface TeardownLike { teardown: (fn: () => unknown) => void }

/** A node of a test cluster. */
export interface TestNode {
  endpoint: DeviceServerEndpoint
  cluster: RedisCluster
  wsUrl: string
}

/** Starts nodes on one fresh key prefix of `server`; everything is stopped at teardown. */
export function testCluster (t: TeardownLike, server: RedisServer, clusterOptions: RedisClusterOptions = {}): (nodeId: string, options?: DeviceServerOptions) => Promise<TestNode> {
  const keyPrefix = `c-${randomUUID().slice(0, 8)}:`
  return async (nodeId, options = {}) => {
    const cluster = new RedisCluster({ url: server.url, keyPrefix, nodeId, nodeLeaseMs: 600, pollIntervalMs: 200, redis: { maxReconnectDelayMs: 100 }, ...clusterOptions })
    const endpoint = new DeviceServerEndpoint({ pingIntervalMs: 0, ...options, cluster })
    const http = createServer((_req, res) => { res.statusCode = 404; res.end() })
    const detach = endpoint.attach(http)
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
    t.teardown(async () => {
      await endpoint.stop()
      detach()
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
    })
    await endpoint.start()
    await cluster.redis.waitReady({ timeoutMs: 10_000 })
    return { endpoint, cluster, wsUrl: `ws://127.0.0.1:${(http.address() as AddressInfo).port}/ws` }
  }
}

/** Nodes A and B of one fresh test cluster on `server`, and device `deviceId` registered on node A. */
export async function deviceOnNodeA (t: Test, server: RedisServer, deviceId: string): Promise<{ a: TestNode, b: TestNode, device: TestClient }> {
  const node = testCluster(t, server)
  const a = await node('node-a')
  const b = await node('node-b')
  const device = await registeredDevice(t, a.wsUrl, deviceId)
  return { a, b, device }
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

/** The next `event` of `endpoint`. */
export async function nextEvent (endpoint: DeviceServerEndpoint, event: 'taskEnd' | 'sessionStarted' | 'clientDisconnected' | 'clientRegistered'): Promise<any> {
  return await new Promise((resolve) => {
    const stop = endpoint.on(event, (payload: unknown) => { stop(); resolve(payload) })
  })
}
