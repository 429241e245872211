import { test } from 'tap'
import { InMemoryClusterHub } from '../src/index.js'
import { echoDevice, registeredConstellation, registeredDevice, startServer, until } from './helpers/harness.js'
import { taskFrame } from './helpers/cluster.js'

/** Node B's link, whose one-step lookup and append answers only when `open()` is called (a slow store reply). */
function slowAnswers (hub: InMemoryClusterHub): { link: ReturnType<InMemoryClusterHub['link']>, open: () => void } {
  const link = hub.link('node-b')
  const inner = link.sendToHolder.bind(link)
  let open = (): void => {}
  const gate = new Promise<void>((resolve) => { open = resolve })
  link.sendToHolder = async (clientId, message, clientType) => {
    const outcome = await inner(clientId, message, clientType)
    await gate
    return outcome
  }
  return { link, open }
}

test('the ack (and TASK_END) of a forwarded TASK reach the requester even when they come back before the store\'s answer', async (t) => {
  const hub = new InMemoryClusterHub()
  const a = await startServer(t, { cluster: hub.link('node-a') })
  await a.endpoint.start()
  const { link, open } = slowAnswers(hub)
  const b = await startServer(t, { cluster: link })
  await b.endpoint.start()
  echoDevice(await registeredDevice(t, a.wsUrl, 'dev-r'), 'dev-r')
  // Not granted `resume`: a frame of a session it is not known to have sent is dropped.
  const galaxy = await registeredConstellation(t, b.wsUrl, 'galaxy', 'dev-r')
  galaxy.send(taskFrame('galaxy', 'dev-r', 'early@1'))
  t.match(await galaxy.next(), { type: 'heartbeat', status: 'ok', session_id: 'early@1' }, 'the ack, while the store has not answered')
  const end = until(galaxy, (f) => f.type === 'task_end')
  open()
  t.match((await end).frame, { type: 'task_end', status: 'completed', session_id: 'early@1' })
  // The session is over on B: the same session id is refused as used, not as running.
  t.match(await galaxy.ask(taskFrame('galaxy', 'dev-r', 'early@1')), { type: 'error', session_id: 'early@1' })
})
