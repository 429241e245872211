import { test } from 'tap'
import { CAPABILITIES_KEY } from '@aip/protocol'
import { client, nextEvent, startScripted, transcript } from './helpers/net.js'
import { acceptRegistration, fast, registeredDevice } from './helpers/continuity.js'

const referenceRegister = transcript('s1-task-roundtrip.jsonl').find((line) => line.frame.type === 'register' && line.conn === 'device:dev1')?.frame as Record<string, any>

test('by default the REGISTER asks for resume, cancel and deadline, after the reference metadata keys', async (t) => {
  const scripted = await startScripted(t)
  const { register } = await registeredDevice(t, scripted)
  t.same(register.metadata[CAPABILITIES_KEY], ['resume', 'cancel', 'deadline'])
  t.same(Object.keys(register.metadata), [...Object.keys(referenceRegister.metadata), CAPABILITIES_KEY],
    'the reference keys first, in their order, then only the capabilities')
})

test('continuity: false sends the reference REGISTER: no capabilities, the reference metadata keys only', async (t) => {
  const scripted = await startScripted(t)
  const { register, device } = await registeredDevice(t, scripted, { continuity: false, platform: 'windows' }, null)
  t.notOk(CAPABILITIES_KEY in register.metadata, 'nothing asked')
  t.same(Object.keys(register), Object.keys(referenceRegister), 'the 14 fields of the Python device REGISTER')
  t.same(Object.keys(register.metadata), Object.keys(referenceRegister.metadata), 'system_info, registration_time, platform')
  t.equal(device.grant, null)
})

test('the grant of the registration answer is exposed as device.grant and a grant event, before registered', async (t) => {
  const scripted = await startScripted(t)
  const device = client(t, { wsUrl: scripted.wsUrl, clientId: 'dev1', reconnectionStrategy: fast() })
  t.equal(device.grant, null, 'no grant before the first registration')
  const order: string[] = []
  device.on('grant', () => order.push('grant'))
  device.on('registered', () => order.push('registered'))
  const granted = nextEvent(device, 'grant')
  const started = device.start()
  const { peer } = await acceptRegistration(scripted, { capabilities: ['resume', 'cancel'], epoch: 3, resumeWindowMs: 5000 })
  await started
  const event = await granted
  const grant = { capabilities: ['resume', 'cancel'], epoch: 3, resumeWindowMs: 5000, resumed: false }
  t.same(event, { grant, resumed: false, first: true })
  t.same(device.grant, grant)
  t.same(order, ['grant', 'registered'], 'a registered listener can read device.grant')

  const regranted = nextEvent(device, 'grant')
  peer.ws.terminate()
  await acceptRegistration(scripted, { epoch: 4, resumed: true })
  const again = await regranted
  t.same([again.first, again.resumed, again.grant?.epoch], [false, true, 4], 'a registration after a link loss, resumed')
  t.equal(device.grant?.epoch, 4)
})

test('a reference answer (no grant) gives grant null: everything as today', async (t) => {
  const scripted = await startScripted(t)
  const device = client(t, { wsUrl: scripted.wsUrl, clientId: 'dev1', reconnectionStrategy: fast() })
  const granted = nextEvent(device, 'grant')
  const started = device.start()
  await acceptRegistration(scripted, null)
  await started
  t.same(await granted, { grant: null, resumed: false, first: true })
  t.equal(device.grant, null)
})

test('continuity: false ignores a grant a server sends anyway', async (t) => {
  const scripted = await startScripted(t)
  const { device } = await registeredDevice(t, scripted, { continuity: false }, { resumed: true })
  t.equal(device.grant, null)
})
