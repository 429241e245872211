/*
 * The constellation program of the continuity run: default options, one device per entry, each through its own
 * URL (its own fault proxy), tasks on demand. The parent drives it over an IPC channel that is unref'd here, so only
 * the endpoint's own handles keep this process alive.
 *
 * argv: <JSON { devices: [{ deviceId, serverUrl }], continuity }>
 * in:   { cmd: 'task', id, device, request, sessionId, timeoutMs, abortAfterMs? }   abortAfterMs: its signal aborts then
 * out:  { type: 'state', deviceId, from, to, at }, { type: 'connected', deviceId, at },
 *       { type: 'task', id, outcome, code?, error?, ends, at }   the task's promise settled (once per task)
 *       { type: 'duplicate', taskId, at }                        a second `taskEnd` event for one task
 */
import { ConstellationEndpoint, type ConstellationOptions } from '@aip/constellation'

interface Config { devices: Array<{ deviceId: string, serverUrl: string }>, continuity: boolean }
const config = JSON.parse(process.argv[2] ?? '{}') as Config
if (!Array.isArray(config.devices) || config.devices.length === 0) throw new Error('usage: continuity-constellation <JSON config>')
const send = (message: Record<string, unknown>): void => { process.send?.({ ...message, at: Date.now() }) }

// `continuity` is the option of the continuity extension (on by default); false asks for nothing.
const options: ConstellationOptions = { taskName: 'continuity', ...(config.continuity ? {} : { continuity: false }) }
const constellation = new ConstellationEndpoint(options)
const ends = new Map<string, number>()
constellation.on('deviceState', ({ deviceId, from, to }) => send({ type: 'state', deviceId, from, to }))
constellation.on('taskEnd', ({ taskId }) => {
  const count = (ends.get(taskId) ?? 0) + 1
  ends.set(taskId, count)
  if (count > 1) send({ type: 'duplicate', taskId })
})

process.channel?.unref()
process.on('message', (raw: unknown) => {
  const message = raw as { cmd: string, id: number, device: string, request: string, sessionId: string, timeoutMs: number, abortAfterMs?: number }
  if (message.cmd !== 'task') return
  const taskId = `t${message.id}`
  const controller = new AbortController()
  const abort = message.abortAfterMs === undefined ? undefined : setTimeout(() => { send({ type: 'abort', id: message.id }); controller.abort() }, message.abortAfterMs)
  const settled = (value: Record<string, unknown>): void => {
    clearTimeout(abort)
    send({ type: 'task', id: message.id, ...value, ends: ends.get(taskId) ?? 0 })
  }
  constellation.sendTaskToDevice(message.device, { request: message.request, taskId, sessionId: message.sessionId, timeoutMs: message.timeoutMs, signal: controller.signal }).then(
    (end) => settled({ outcome: end.status, error: end.error }),
    (err: unknown) => settled({ outcome: 'rejected', code: (err as { code?: string }).code, error: (err as Error).message })
  )
})

await Promise.all(config.devices.map(async ({ deviceId, serverUrl }) => {
  await constellation.connectToDevice({ deviceId, serverUrl })
  send({ type: 'connected', deviceId })
}))
