import { test } from 'tap'
import { connectedConstellation, eventLog, grantingServer, nextEvent, taskEnd } from './continuity-helpers.js'

for (const [name, capabilities] of [['grants nothing of it', []], ['grants resume and deadline only', ['resume', 'deadline']]] as const) {
  test(`a server that ${name}: an abort sends no task_cancel and frees the slot at once (the reference behaviour)`, async (t) => {
    const server = await grantingServer(t, [...capabilities])
    const constellation = await connectedConstellation(t, server.url)
    const log = eventLog(constellation)
    const controller = new AbortController()
    const acked = nextEvent(constellation, 'taskAck')
    const first = constellation.sendTaskToDevice('dev1', { request: 'a', taskId: 'a', signal: controller.signal })
    const second = constellation.sendTaskToDevice('dev1', { request: 'b', taskId: 'b' })
    await acked
    const secondAck = nextEvent(constellation, 'taskAck')
    controller.abort()
    await t.rejects(first, { code: 'AIP_ERR_CONSTELLATION_TASK_ABORTED' })
    await secondAck
    server.socket().send(taskEnd('g@b'))
    t.equal((await second).status, 'completed')
    t.same(server.frames.map((f) => `${String(f.type)} ${String(f.session_id)}`), ['task g@a', 'task g@b'], 'no task_cancel')
    t.same(log, ['taskSent a', 'taskAck a', 'taskEnd a cancelled', 'taskSent b', 'taskAck b', 'taskEnd b completed'])
  })
}
