import { constellationSessionId, newId } from '@aip/protocol'
import { invalidArgument, timeoutArgument, type ResolvedConstellationOptions } from './options.js'
import type { TaskSpec } from './task-queue.js'
import type { SendTaskOptions, TaskRequest } from './types.js'

/**
 * Checks a task request (and the `sendTaskToDevice` options that take the place of its `signal` and `timeoutMs`)
 * and fills in its defaults: task id, TASK name, session id, deadline.
 *
 * @throws `AIP_ERR_INVALID_ARGUMENT`
 */
export function taskSpec (taskRequest: TaskRequest, options: SendTaskOptions | undefined, config: ResolvedConstellationOptions): TaskSpec {
  if (typeof taskRequest !== 'object' || taskRequest === null) throw invalidArgument('taskRequest', 'an object', taskRequest)
  if (options !== undefined && (typeof options !== 'object' || options === null)) throw invalidArgument('options', 'an object', options)
  const { request } = taskRequest
  if (typeof request !== 'string' || request === '') throw invalidArgument('taskRequest.request', 'a non-empty string', request)
  const taskId = taskRequest.taskId ?? newId()
  if (typeof taskId !== 'string' || taskId === '') throw invalidArgument('taskRequest.taskId', 'a non-empty string', taskId)
  const taskName = taskRequest.taskName ?? `galaxy/${config.taskName}/${taskId}`
  if (typeof taskName !== 'string' || taskName === '') throw invalidArgument('taskRequest.taskName', 'a non-empty string', taskName)
  const given = taskRequest.sessionId
  if (given !== undefined && (typeof given !== 'string' || given === '')) throw invalidArgument('taskRequest.sessionId', 'a non-empty string', given)
  const timeoutMs = timeoutArgument('options.timeoutMs', options?.timeoutMs) ?? timeoutArgument('timeoutMs', taskRequest.timeoutMs) ?? config.taskTimeoutMs
  const signal = options?.signal ?? taskRequest.signal
  return {
    taskId,
    sessionId: given ?? constellationSessionId(config.taskName, taskId),
    taskName,
    request,
    metadata: taskRequest.metadata ?? null,
    timeoutMs,
    signal
  }
}
