import { randomUUID } from 'node:crypto'

/** A fresh uuid4 string, the form the reference uses for `response_id`, `request_id`, `call_id` and sessions. */
export function newId (): string {
  return randomUUID()
}

/**
 * The session id a constellation chooses for a task: `<taskName>@<taskId>`. The server echoes it verbatim.
 */
export function constellationSessionId (taskName: string, taskId: string): string {
  return `${taskName}@${taskId}`
}

/**
 * The client id a constellation registers with for one device: `<taskName>@<deviceId>`. The reference opens
 * one connection per (task name, device) pair, so two orchestrators that share a task name collide on it.
 */
export function constellationClientId (taskName: string, deviceId: string): string {
  return `${taskName}@${deviceId}`
}

const UNSAFE_TASK_NAME = /[^A-Za-z0-9._-]/g

const ONLY_DOTS = /^\.+$/

/**
 * The task name as the reference server sanitises it before use: every character outside `[A-Za-z0-9._-]`
 * becomes `_` (`galaxy/galaxy_task/t1` becomes `galaxy_galaxy_task_t1`), so it is safe as a file name. A name
 * made only of dots (`.`, `..`), which the reference lets through, becomes underscores too.
 */
export function sanitizeTaskName (taskName: string): string {
  const safe = taskName.replace(UNSAFE_TASK_NAME, '_')
  return ONLY_DOTS.test(safe) ? '_'.repeat(safe.length) : safe
}
