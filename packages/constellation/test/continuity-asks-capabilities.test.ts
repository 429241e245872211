import { test } from 'tap'
import { ConstellationEndpoint } from '../src/index.js'
import { connectedConstellation, grantAnswer } from './continuity-helpers.js'
import { scriptedServer } from './helpers.js'

test('the REGISTER asks for resume, cancel and deadline; the grant is kept per device', async (t) => {
  const registers: Array<Record<string, any>> = []
  const { url } = await scriptedServer(t, async (socket) => {
    registers.push(await socket.next())
    socket.send(grantAnswer({ capabilities: ['resume', 'cancel', 'deadline', 'teleport'], epoch: 7, resumeWindowMs: 15_000 }))
  })
  const constellation = await connectedConstellation(t, url)
  t.same(registers[0]?.metadata.aip_capabilities, ['resume', 'cancel', 'deadline'])
  t.equal(Object.keys(registers[0]?.metadata ?? {}).at(-1), 'aip_capabilities', 'after the reference keys')
  const snapshot = constellation.getDevice('dev1')
  t.same(snapshot?.continuity, { capabilities: ['resume', 'cancel', 'deadline'], epoch: 7, resumeWindowMs: 15_000, resumed: false }, 'unknown names dropped')
  t.ok(Object.isFrozen(snapshot?.continuity), 'frozen')
  t.equal(snapshot?.awaitingResume, false)
  t.equal(snapshot?.cancelling, 0)
})

test('continuity false: the reference REGISTER, and a grant it did not ask for is ignored', async (t) => {
  const registers: Array<Record<string, any>> = []
  const { url } = await scriptedServer(t, async (socket) => {
    registers.push(await socket.next())
    socket.send(grantAnswer())
  })
  const constellation = new ConstellationEndpoint({ taskName: 'g', continuity: false })
  t.teardown(() => constellation.stop())
  await constellation.connectToDevice({ deviceId: 'dev1', serverUrl: url })
  t.same(Object.keys(registers[0]?.metadata ?? {}), ['type', 'task_name', 'targeted_device_id', 'capabilities', 'version'])
  t.equal(constellation.getDevice('dev1')?.continuity, null)
})

test('a malformed grant counts as none', async (t) => {
  const { url } = await scriptedServer(t, async (socket) => {
    await socket.next()
    socket.send({ ...grantAnswer(), aip: { capabilities: 'resume', epoch: 1 } })
  })
  const constellation = await connectedConstellation(t, url)
  t.equal(constellation.getDevice('dev1')?.continuity, null)
})
