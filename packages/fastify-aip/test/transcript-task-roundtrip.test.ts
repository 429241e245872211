import type { FastifyInstance } from 'fastify'
import { test } from 'tap'
import type { Agent } from '../src/index.js'
import { sameAsReference } from '@aip/test-support'
import { buildApp, echoDevice, injectClient, listen, TestClient, TOKEN, until, type Teardown } from './helpers/harness.js'
import { frameObject, transcript } from '@aip/test-support'

// S1 and appx through the plugin: the client side of the captured conversation, replayed against a plain Fastify
// app, gets the reference's answers (volatile values aside), over a listening port and through injectWS.

/** The capture's scripted session: two COMMAND steps, each a screenshot and a click. */
const twoStepAgent: Agent = async (_task, context) => {
  for (let step = 0; step < 2; step++) {
    await context.execute([
      { tool_name: 'get_screenshot', parameters: { step }, tool_type: 'data_collection' },
      { tool_name: 'click_input', parameters: { id: '7', button: 'left' }, tool_type: 'action' }
    ], { processName: 'notepad.exe', rootName: 'Notepad' })
  }
  return { status: 'completed' }
}

type Connect = (t: Teardown, app: FastifyInstance) => Promise<TestClient>

const transports: Record<string, (app: FastifyInstance) => Promise<Connect>> = {
  'a listening port': async (app) => {
    const { ws } = await listen(app)
    return async (t) => await TestClient.connect(t, `${ws}/ws?token=${TOKEN}`)
  },
  injectWS: async () => async (t, app) => await injectClient(t, app, `/ws?token=${TOKEN}`)
}

for (const [via, prepare] of Object.entries(transports)) {
  for (const file of ['s1-task-roundtrip.jsonl', 'appx-appendix-harness-rerun.jsonl']) {
    test(`${file} through ${via}: registration, device info, task, commands and TASK_END as the reference answers them`, async (t) => {
      const lines = transcript(file)
      const deviceLines = lines.filter((l) => l.conn === 'device:dev1')
      const galaxyLines = lines.filter((l) => l.conn.startsWith('constellation:'))
      const sent = (conn: typeof lines, type: string): Record<string, unknown> =>
        frameObject(conn.find((l) => l.dir === 'client->server' && (l.frame as any).type === type)!)
      const received = (conn: typeof lines, pred: (f: any) => boolean): Record<string, unknown> =>
        frameObject(conn.find((l) => l.dir === 'server->client' && pred(l.frame))!)

      const app = await buildApp(t, { agent: twoStepAgent, token: TOKEN })
      const connect = await prepare(app)
      const device = await connect(t, app)
      sameAsReference(t, await device.ask(sent(deviceLines, 'register')), received(deviceLines, (f) => f.type === 'heartbeat'), 'device registration')
      echoDevice(device, 'dev1')

      const galaxy = await connect(t, app)
      sameAsReference(t, await galaxy.ask(sent(galaxyLines, 'register')), received(galaxyLines, (f) => f.type === 'heartbeat'), 'constellation registration')

      const infoRequest = sent(galaxyLines, 'device_info_request')
      const info = await galaxy.ask(infoRequest)
      sameAsReference(t, info, received(galaxyLines, (f) => f.type === 'device_info_response'), 'device info')
      t.equal(info.response_id, infoRequest.request_id, 'DEVICE_INFO_RESPONSE answers with the request_id')

      galaxy.send(sent(galaxyLines, 'task'))
      sameAsReference(t, await galaxy.next(), received(galaxyLines, (f) => f.type === 'heartbeat' && f.session_id !== null), 'task ack')

      const commands = deviceLines.filter((l) => l.dir === 'server->client' && (l.frame as any).type === 'command').map(frameObject)
      for (const [index, expected] of commands.entries()) {
        const { frame } = await until(device, (f) => f.type === 'command')
        sameAsReference(t, frame, expected, `COMMAND ${index + 1}`)
      }
      const end = await galaxy.next()
      sameAsReference(t, end, received(galaxyLines, (f) => f.type === 'task_end'), 'TASK_END to the constellation')
      const copy = (await until(device, (f) => f.type === 'task_end')).frame
      sameAsReference(t, copy, received(deviceLines, (f) => f.type === 'task_end'), 'TASK_END copy to the device')
      t.equal(copy.response_id, end.response_id, 'both TASK_END copies share one response_id')

      const record = app.aip.sessions.get(end.session_id)
      t.match(record, { status: 'completed', deviceId: 'dev1', requesterId: 'galaxy_task@dev1' }, 'the decorator reads the finished session back')

      const galaxyHeartbeat = galaxyLines.find((l) => l.dir === 'client->server' && (l.frame as any).type === 'heartbeat')
      if (galaxyHeartbeat !== undefined) {
        sameAsReference(t, await galaxy.ask(galaxyHeartbeat.frame), received(galaxyLines, (f) => f.type === 'error'), 'Galaxy heartbeat refusal (B1)')
      }
      sameAsReference(t, await device.ask(sent(deviceLines, 'heartbeat')), received(deviceLines, (f) => f.type === 'heartbeat'), 'device heartbeat answer')
    })
  }
}
