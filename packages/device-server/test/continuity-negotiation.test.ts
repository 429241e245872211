import { test } from 'tap'
import { SERVER_MESSAGE_FIELDS } from '@aip/test-support'
import { TestClient, deviceRegister, startServer } from './helpers/harness.js'
import { continuityConstellation, continuityDevice, dropConnection } from './helpers/continuity.js'

/** The raw text of the next frame `client` receives. */
async function nextText (client: TestClient): Promise<string> {
  return await new Promise((resolve) => client.ws.once('message', (data) => resolve(data.toString())))
}

/** A frame's text with its timestamp and response_id replaced by fixed values (they differ on every frame). */
function normalised (text: string): string {
  const frame = JSON.parse(text) as Record<string, unknown>
  return JSON.stringify({ ...frame, timestamp: 'T', response_id: 'R' })
}

test('a REGISTER without aip_capabilities gets the reference answer, byte for byte, whatever the resume window', async (t) => {
  const texts: string[] = []
  for (const resumeWindowMs of [30_000, 0]) {
    const { wsUrl } = await startServer(t, { resumeWindowMs })
    const device = await TestClient.connect(t, wsUrl)
    const text = nextText(device)
    device.send(deviceRegister(`plain-${resumeWindowMs}`))
    texts.push(await text)
  }
  for (const text of texts) {
    t.same(Object.keys(JSON.parse(text)), SERVER_MESSAGE_FIELDS, 'the 14 reference fields, in the reference order, no `aip`')
  }
  t.equal(normalised(texts[0] as string), normalised(texts[1] as string), 'the same bytes as with the extension off')
  t.match(JSON.parse(texts[0] as string), { type: 'heartbeat', status: 'ok', error: null, session_id: null })
})

test('a REGISTER asking for every capability gets the grant in the `aip` field of its HEARTBEAT', async (t) => {
  const { wsUrl } = await startServer(t, { resumeWindowMs: 5_000 })
  const device = await TestClient.connect(t, wsUrl)
  const answer = await device.ask(continuityDevice('dev-grant'))
  t.match(answer, { type: 'heartbeat', status: 'ok' })
  t.same(answer.aip, { capabilities: ['resume', 'cancel', 'deadline'], epoch: 1, resume_window_ms: 5_000, resumed: false })
  t.same(Object.keys(answer).filter((key) => !(SERVER_MESSAGE_FIELDS as readonly string[]).includes(key)), ['aip'], 'one extension field')
})

test('the grant holds only what was asked and is enabled: no resume with a resume window of 0', async (t) => {
  const { wsUrl } = await startServer(t, { resumeWindowMs: 0 })
  const device = await TestClient.connect(t, wsUrl)
  const answer = await device.ask(continuityDevice('dev-nores'))
  t.same(answer.aip, { capabilities: ['cancel', 'deadline'], epoch: 1, resume_window_ms: 0, resumed: false })
  const galaxy = await TestClient.connect(t, wsUrl)
  const scoped = await galaxy.ask(continuityConstellation('g-nores', 'dev-nores', ['cancel', 'unknown-capability']))
  t.same(scoped.aip, { capabilities: ['cancel'], epoch: 1, resume_window_ms: 0, resumed: false }, 'unknown names are ignored')
})

test('the epoch of a client id grows with every registration while the id is held', async (t) => {
  const { wsUrl, endpoint } = await startServer(t, { resumeWindowMs: 60_000 })
  const first = await TestClient.connect(t, wsUrl)
  t.equal((await first.ask(continuityDevice('dev-epoch'))).aip.epoch, 1)
  await dropConnection(endpoint, first)
  const second = await TestClient.connect(t, wsUrl)
  const answer = await second.ask(continuityDevice('dev-epoch'))
  t.same(answer.aip, { capabilities: ['resume', 'cancel', 'deadline'], epoch: 2, resume_window_ms: 60_000, resumed: true })
  t.equal(endpoint.clientActivity('dev-epoch')?.epoch, 2)
})
