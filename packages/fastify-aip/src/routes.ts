import { safeEqual } from '@aip/device-server/internal'
import type { ClusterLink } from '@aip/device-server'
import { sanitizeTaskName } from '@aip/protocol'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { FastifyInstance, FastifyPluginAsync, onRequestHookHandler } from 'fastify'
import { refuseLimited, type AuthFailureLimiter } from './auth-limiter.js'
import type { AipDeviceServer } from './endpoint.js'
import { InvalidApiKeyError, MissingApiKeyError, TaskNotFoundError } from './errors.js'
import {
  ClientsReply, DispatchBody, DispatchReply, ErrorReply, HealthReply, LivenessReply, TaskResultParams, TaskResultQuery, TaskResultReply
} from './schemas.js'

/** Options of {@link httpApi}. */
export interface HttpApiOptions {
  endpoint: AipDeviceServer
  apiKey: string
  /** Counts the refused keys; an address it refuses gets 429 before its key is looked at. `null`: no limit. */
  authLimiter?: AuthFailureLimiter | null
}

/**
 * `X-API-Key` check, before the body is read: 401 when missing or wrong (the reference answers 422 when it is
 * missing), each counted by `limiter`; 429 for an address the limiter refuses, whatever key it sends.
 */
function apiKeyCheck (apiKey: string, limiter: AuthFailureLimiter | null): onRequestHookHandler {
  return function checkApiKey (request, reply, done) {
    const limited = refuseLimited(limiter, request, reply)
    if (limited !== null) { done(limited); return }
    const presented = request.headers['x-api-key']
    const error = presented === undefined || presented === ''
      ? new MissingApiKeyError()
      : typeof presented !== 'string' || !safeEqual(presented, apiKey) ? new InvalidApiKeyError() : null
    if (error === null) { done(); return }
    limiter?.fail(request.ip)
    // The body of a refused request is never read: the connection closes after the 401 instead of draining it.
    reply.header('connection', 'close')
    done(error)
  }
}

const errors = { '4xx': ErrorReply, '5xx': ErrorReply }

/**
 * The reference HTTP API (`/clients`, `/dispatch`, `/task_result/:task_name`, `/health`), behind `X-API-Key`.
 * Registered encapsulated, under the plugin's `prefix`, so its hook guards these routes only.
 */
export const httpApi: FastifyPluginAsync<HttpApiOptions> = async (instance, { endpoint, apiKey, authLimiter }) => {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>()
  fastify.addHook('onRequest', apiKeyCheck(apiKey, authLimiter ?? null))

  fastify.get('/clients', {
    schema: { response: { 200: ClientsReply, ...errors } }
  }, async () => {
    // In a cluster, every node's clients (503 AIP_ERR_CLUSTER_UNAVAILABLE while the store cannot be reached).
    const cluster = endpoint.options.cluster !== null
    const clients = cluster ? await endpoint.listClusterClients() : endpoint.listClients()
    // Away is known of this node's clients (a client away on another node keeps its lease there).
    const away = new Set(clients.filter((client) => endpoint.clientActivity(client.clientId)?.away === true).map((client) => client.clientId))
    return {
      // The reference's meaning: clients with a live connection. A client away (its connection dropped, inside its
      // resume window) is listed in `clients` with `state: 'away'`.
      online_clients: clients.filter((client) => !away.has(client.clientId)).map((client) => client.clientId),
      clients: clients.map((client) => ({
        client_id: client.clientId,
        client_type: client.clientType,
        target_id: client.targetId,
        platform: client.platform,
        registered_at: new Date(client.registeredAt).toISOString(),
        state: away.has(client.clientId) ? 'away' as const : 'online' as const,
        ...(cluster && 'nodeId' in client ? { node_id: client.nodeId } : {})
      }))
    }
  })

  fastify.post('/dispatch', {
    schema: { body: DispatchBody, response: { 200: DispatchReply, ...errors } }
  }, async (request) => {
    const { client_id: clientId, request: userRequest, task_name: taskName } = request.body
    const started = await endpoint.tasks.start(clientId, userRequest, { taskName })
    const log = request.log
    started.done.then(
      (record) => log.debug({ sessionId: record.sessionId, deviceId: clientId, status: record.status }, 'dispatched task ended'),
      (err: unknown) => log.info({ err, sessionId: started.sessionId, deviceId: clientId }, 'dispatched task not completed')
    )
    log.info({ sessionId: started.sessionId, deviceId: clientId, taskName: started.taskName }, 'task dispatched over HTTP')
    return { status: 'dispatched' as const, task_name: started.taskName, client_id: clientId, session_id: started.sessionId }
  })

  fastify.get('/task_result/:task_name', {
    schema: { params: TaskResultParams, querystring: TaskResultQuery, response: { 200: TaskResultReply, ...errors } }
  }, async (request) => {
    const taskName = sanitizeTaskName(request.params.task_name)
    // By the session id the dispatch returned, or by name among the tasks dispatched here: a task a WebSocket client
    // started under the same name is never an answer.
    const sessionId = request.query.session_id ?? endpoint.tasks.sessionOf(taskName)
    let view = sessionId === undefined ? undefined : endpoint.sessions.get(sessionId)
    // In a cluster, a task that ended on another node is read from the cluster's result store.
    if (view === undefined && endpoint.options.cluster !== null) {
      view = sessionId === undefined ? await endpoint.getClusterResultByTaskName(taskName) : await endpoint.getClusterResult(sessionId)
    }
    if (sessionId !== undefined && view === undefined && endpoint.tasks.pendingSession(taskName) === sessionId) {
      return { status: 'pending' as const, task_name: taskName, session_id: sessionId }
    }
    if (view === undefined || view.taskName !== taskName) throw new TaskNotFoundError(taskName)
    if (view.status === 'running') return { status: 'pending' as const, task_name: taskName, session_id: view.sessionId }
    return {
      status: 'done' as const,
      task_name: view.taskName,
      session_id: view.sessionId,
      client_id: view.deviceId,
      task_status: view.status,
      error: view.error,
      result: view.result
    }
  })

  fastify.get('/health', {
    schema: { response: { 200: HealthReply, ...errors } }
  }, async () => {
    const link = endpoint.options.cluster
    return {
      status: 'healthy' as const,
      // This node's clients with a live connection: health must answer while the cluster store is away.
      online_clients: endpoint.listClients().filter((client) => endpoint.clientActivity(client.clientId)?.away !== true).map((client) => client.clientId),
      ...(link === null ? {} : { cluster: clusterHealth(link) })
    }
  })
}

/** The cluster part of `GET /health`: the node, its link's state and, when not `ready`, why (if the link says). */
function clusterHealth (link: ClusterLink): HealthReply['cluster'] {
  const state = link.state
  const problem = state === 'ready' ? null : link.problem ?? null
  return problem === null ? { node_id: link.nodeId, state } : { node_id: link.nodeId, state, problem }
}

/** The unauthenticated liveness route: 200 `{ status: 'ok' }` while the app runs. */
export function livenessRoute (instance: FastifyInstance, path: string): void {
  instance.withTypeProvider<TypeBoxTypeProvider>().get(path, {
    schema: { response: { 200: LivenessReply } }
  }, async () => ({ status: 'ok' as const }))
}
