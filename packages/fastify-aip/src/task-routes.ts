import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { keyGuard } from './access.js'
import type { AuthFailureLimiter } from './auth-limiter.js'
import type { AipDeviceServer } from './endpoint.js'
import { ErrorReply } from './schemas.js'
import { MAX_CANCEL_REASON_CHARS } from './tasks.js'

/** Parameters of `POST /tasks/:sessionId/cancel`. */
export const CancelParams = Type.Object({
  sessionId: Type.String({ minLength: 1, maxLength: 256, description: 'The session id the task runs under' })
})
export type CancelParams = Static<typeof CancelParams>

/** Body of `POST /tasks/:sessionId/cancel` (optional). */
export const CancelBody = Type.Union([
  Type.Null(),
  Type.Object({
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_CANCEL_REASON_CHARS, description: 'Why: it goes into the TASK_END error text' }))
  })
])
export type CancelBody = Static<typeof CancelBody>

/** Answer of `POST /tasks/:sessionId/cancel`: the cancel is under way; the task's TASK_END follows. */
export const CancelReply = Type.Object({
  status: Type.Literal('cancelling'),
  session_id: Type.String()
})
export type CancelReply = Static<typeof CancelReply>

/** Options of {@link taskRoutes}. */
export interface TaskRoutesOptions {
  endpoint: AipDeviceServer
  apiKey: string
  /** Counts failed keys per address (the plugin's `authFailureLimit`); `null` or absent: no limit. */
  authLimiter?: AuthFailureLimiter | null
}

/**
 * Task routes beyond the reference HTTP API, behind the API key: `POST /tasks/:sessionId/cancel` cancels a running
 * (or dispatched, not yet taken up) task — 202 `{ status: 'cancelling', session_id }`, 404 for an unknown session,
 * 409 for one that has ended. Registered encapsulated, under the plugin's `prefix`.
 */
export const taskRoutes: FastifyPluginAsync<TaskRoutesOptions> = async (instance, { endpoint, apiKey, authLimiter }) => {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>()
  fastify.addHook('onRequest', keyGuard(apiKey, undefined, authLimiter ?? null))

  fastify.post('/tasks/:sessionId/cancel', {
    schema: {
      params: CancelParams,
      body: Type.Optional(CancelBody),
      response: { 202: CancelReply, '4xx': ErrorReply, '5xx': ErrorReply }
    }
  }, async (request, reply) => {
    const { sessionId } = request.params
    const reason = request.body?.reason
    endpoint.tasks.cancel(sessionId, reason)
    request.log.info({ sessionId }, 'task cancelled over HTTP')
    return await reply.code(202).send({ status: 'cancelling' as const, session_id: sessionId })
  })
}
