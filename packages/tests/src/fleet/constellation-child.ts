/*
 * A constellation program as a user writes one: default options, one device per argument, tasks on demand. The
 * parent drives it over an IPC channel that is unref'd here, so only the endpoint's own handles keep this process
 * alive (as in a program that has nothing else to do while its devices reconnect).
 *
 * argv: <serverUrl> <deviceId>...
 * in:   { cmd: 'task', id, device, request, timeoutMs }
 * out:  { type: 'state', deviceId, from, to, failure? }, { type: 'connected', deviceId },
 *       { type: 'task', id, outcome, code?, error?, ends }, { type: 'duplicate', taskId }
 */
import { ConstellationEndpoint } from '@aip/constellation'

const [serverUrl, ...devices] = process.argv.slice(2)
if (serverUrl === undefined || devices.length === 0) throw new Error('usage: constellation-child <serverUrl> <deviceId>...')
const send = (message: Record<string, unknown>): void => { process.send?.(message) }

const constellation = new ConstellationEndpoint({ taskName: 'fleet' })
const ends = new Map<string, number>()
constellation.on('deviceState', ({ deviceId, from, to, failure }) => send({ type: 'state', deviceId, from, to, failure }))
constellation.on('taskEnd', ({ taskId }) => {
  const count = (ends.get(taskId) ?? 0) + 1
  ends.set(taskId, count)
  if (count > 1) send({ type: 'duplicate', taskId })
})

process.channel?.unref()
process.on('message', (raw: unknown) => {
  const message = raw as { cmd: string, id: number, device: string, request: string, timeoutMs: number }
  if (message.cmd !== 'task') return
  const taskId = `t${message.id}`
  // The channel is unref'd: a task in flight must not depend on it to keep the process up (its socket does).
  constellation.sendTaskToDevice(message.device, { request: message.request, taskId, timeoutMs: message.timeoutMs }).then(
    (end) => send({ type: 'task', id: message.id, outcome: end.status, error: end.error, ends: ends.get(taskId) ?? 0 }),
    (err: unknown) => send({ type: 'task', id: message.id, outcome: 'rejected', code: (err as { code?: string }).code, error: (err as Error).message, ends: ends.get(taskId) ?? 0 })
  )
})

await Promise.all(devices.map(async (deviceId) => {
  await constellation.connectToDevice({ deviceId, serverUrl })
  send({ type: 'connected', deviceId })
}))
