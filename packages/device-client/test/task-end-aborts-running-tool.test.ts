import { test } from 'tap'
import { serverFrame, startScripted } from './helpers/net.js'
import { commandFrame, registeredDevice } from './helpers/continuity.js'

test('a TASK_END of the session (a cancel on the server) aborts the running tool; its results are not sent', async (t) => {
  const scripted = await startScripted(t)
  let started!: () => void
  const running = new Promise<void>((resolve) => { started = resolve })
  let aborted!: (reason: unknown) => void
  const abortedWith = new Promise<unknown>((resolve) => { aborted = resolve })
  const { device, peer } = await registeredDevice(t, scripted, {
    tools: {
      work: {
        handler: (_params, ctx) => new Promise((resolve) => {
          started()
          ctx.signal.addEventListener('abort', () => { aborted(ctx.signal.reason); resolve('stopped') }, { once: true })
        })
      }
    }
  })
  const dropped: string[] = []
  device.on('resultsSent', ({ prevResponseId }) => dropped.push(String(prevResponseId)))
  peer.send(commandFrame({ sessionId: 's1', responseId: 'r1', actions: [{ tool_name: 'work' }] }))
  await running
  const ended = new Promise((resolve) => device.on('taskEnd', resolve))
  peer.send(serverFrame({ type: 'task_end', status: 'failed', session_id: 's1', error: 'cancelled by the requester' }))
  t.match(await abortedWith, { message: 'session s1 ended' }, 'the tool was told to stop')
  t.same(await ended, { sessionId: 's1', status: 'failed', error: 'cancelled by the requester' })
  peer.send(commandFrame({ sessionId: 's2', responseId: 'r2', actions: [] }))
  await peer.next((frame) => frame.type === 'command_results' && frame.prev_response_id === 'r2')
  t.same(dropped, ['r2'], 'nothing was sent for the cancelled COMMAND')
})
