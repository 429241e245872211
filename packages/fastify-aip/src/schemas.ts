import { Type, type Static } from '@sinclair/typebox'

/** A task name the HTTP API accepts: what `sanitizeTaskName` leaves unchanged, 1 to 128 characters, no `..`. */
export const TASK_NAME_PATTERN = '^(?!\\.{1,2}$)[A-Za-z0-9._-]{1,128}$'

/** Body of `POST /dispatch` (the reference fields; others are ignored, as the reference ignores them). */
export const DispatchBody = Type.Object({
  client_id: Type.String({ minLength: 1, maxLength: 256 }),
  request: Type.String({ minLength: 1 }),
  task_name: Type.Optional(Type.String({ pattern: TASK_NAME_PATTERN }))
})
export type DispatchBody = Static<typeof DispatchBody>

/** Answer of `POST /dispatch`: the reference fields, with the session id the task really runs under (B18). */
export const DispatchReply = Type.Object({
  status: Type.Literal('dispatched'),
  task_name: Type.String(),
  client_id: Type.String(),
  session_id: Type.String()
})
export type DispatchReply = Static<typeof DispatchReply>

/** One registered client, in `GET /clients`. */
export const ClientDetails = Type.Object({
  client_id: Type.String(),
  client_type: Type.Union([Type.Literal('device'), Type.Literal('constellation')]),
  target_id: Type.Union([Type.String(), Type.Null()]),
  platform: Type.Union([Type.String(), Type.Null()]),
  registered_at: Type.String({ description: 'ISO 8601' }),
  state: Type.Union([Type.Literal('online'), Type.Literal('away')], {
    description: '`online` with a live connection; `away` while its connection is down inside its resume window (tasks to it wait)'
  }),
  node_id: Type.Optional(Type.String({ description: 'In a cluster: the node the client is connected to' }))
})
export type ClientDetails = Static<typeof ClientDetails>

/** Answer of `GET /clients`: the reference `online_clients` ids, plus details. */
export const ClientsReply = Type.Object({
  online_clients: Type.Array(Type.String()),
  clients: Type.Array(ClientDetails)
})
export type ClientsReply = Static<typeof ClientsReply>

/** Parameters of `GET /task_result/:task_name`. */
export const TaskResultParams = Type.Object({
  task_name: Type.String({ minLength: 1, maxLength: 256 })
})
export type TaskResultParams = Static<typeof TaskResultParams>

/** Query of `GET /task_result/:task_name`: the session id `POST /dispatch` returned, to read that very task. */
export const TaskResultQuery = Type.Object({
  session_id: Type.Optional(Type.String({ minLength: 1, maxLength: 256 }))
})
export type TaskResultQuery = Static<typeof TaskResultQuery>

/** Answer of `GET /task_result/:task_name`: `pending` while it runs, `done` with its TASK_END once ended. */
export const TaskResultReply = Type.Object({
  status: Type.Union([Type.Literal('pending'), Type.Literal('done')]),
  task_name: Type.String(),
  session_id: Type.String(),
  client_id: Type.Optional(Type.String()),
  task_status: Type.Optional(Type.Union([Type.Literal('completed'), Type.Literal('failed')])),
  error: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  result: Type.Optional(Type.Unknown())
})
export type TaskResultReply = Static<typeof TaskResultReply>

/** Answer of `GET /health`. */
export const HealthReply = Type.Object({
  status: Type.Literal('healthy'),
  online_clients: Type.Array(Type.String()),
  cluster: Type.Optional(Type.Object({
    node_id: Type.String(),
    state: Type.String({ description: 'The link to the cluster store: connecting, ready, reconnecting, down or stopped' }),
    problem: Type.Optional(Type.Object({
      code: Type.Union([Type.String(), Type.Null()]),
      message: Type.String()
    }, { description: 'Why the link is not ready: the store\'s last error, or what keeps this node out of the cluster (AIP_ERR_REDIS_CLUSTER_FORMAT)' }))
  }, { description: 'In a cluster: this node and the state of its link to the store (Redis)' }))
})
export type HealthReply = Static<typeof HealthReply>

/** Answer of the liveness route. */
export const LivenessReply = Type.Object({ status: Type.Literal('ok') })
export type LivenessReply = Static<typeof LivenessReply>

/** Fastify's error answer, for the documentation of the routes. */
export const ErrorReply = Type.Object({
  statusCode: Type.Integer(),
  code: Type.Optional(Type.String()),
  error: Type.String(),
  message: Type.String()
})
export type ErrorReply = Static<typeof ErrorReply>
