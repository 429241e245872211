import { test } from 'tap'
import type { AIPProtocol } from '@aip/endpoint'
import type { ContinuityGrant } from '@aip/protocol'
import { resolveOptions } from '../src/options.js'
import { TaskQueue } from '../src/task-queue.js'
import type { ConstellationHost } from '../src/host.js'

const silent = { trace () {}, debug () {}, info () {}, warn () {}, error () {}, fatal () {}, child () { return silent } } as never

/** A queue whose device connection refuses every write, as one that dropped under the write does. */
function queueOverDroppedLink (grant: ContinuityGrant | null) {
  const events: string[] = []
  const host: ConstellationHost = {
    options: resolveOptions({ taskName: 'orch' }),
    log: silent,
    emit: (event) => { events.push(event) },
    stopped: () => false
  }
  const protocol = { send: async () => { throw new Error('transport closed') } } as unknown as AIPProtocol<'client'>
  const queue = new TaskQueue(host, {
    deviceId: 'dev1',
    clientId: 'orch@dev1',
    removed: false,
    sendable: protocol,
    grant,
    activityChanged: () => {}
  })
  return { queue, events }
}

const spec = { taskId: 't1', sessionId: 'orch@t1', taskName: 'orch', request: 'hello', metadata: null, timeoutMs: 60_000, signal: undefined }

test('a TASK whose write fails as the link drops stays running when the server holds sessions (resume granted)', async (t) => {
  const { queue, events } = queueOverDroppedLink({ capabilities: ['resume'], epoch: 1, resumeWindowMs: 10_000, resumed: false })
  const outcome = queue.enqueue(spec)
  let settled = false
  outcome.then(() => { settled = true }, () => { settled = true })
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(settled, false, 'the task has not failed')
  t.ok(queue.running.has('orch@t1'), 'it is still running, so a resume writes it again')
  t.notOk(events.includes('taskEnd'))
  queue.failRunning('test over')
  await t.rejects(outcome, { code: 'AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED' })
})

test('without a resume grant, a TASK whose write fails ends at once as disconnected', async (t) => {
  const { queue } = queueOverDroppedLink(null)
  await t.rejects(queue.enqueue(spec), { code: 'AIP_ERR_CONSTELLATION_DEVICE_DISCONNECTED', message: /could not be sent/ })
  t.equal(queue.running.size, 0)
})
