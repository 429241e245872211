import { request as httpRequest, type IncomingMessage } from 'node:http'
import Fastify from 'fastify'
import { test } from 'tap'
import { aipPlugin, type DashboardSnapshot } from '../src/index.js'
import { API_KEY, TOKEN, TestClient, buildApp, deviceRegister, listen, registeredDevice } from './helpers/harness.js'

// The dashboard's routes without a browser: the login, the cookie, the assets, the picture and its event stream.

async function login (app: Awaited<ReturnType<typeof buildApp>>, path = '/aip'): Promise<string> {
  const reply = await app.inject({ method: 'POST', url: `${path}/login`, body: { key: API_KEY } })
  const header = String(reply.headers['set-cookie'])
  return header.split(';')[0] as string
}

test('the page asks for the key once; the session cookie, or the key, then opens the page and its data', async (t) => {
  const app = await buildApp(t, { apiKey: API_KEY, dashboard: true })
  const anonymous = await app.inject({ url: '/aip' })
  t.equal(anonymous.statusCode, 200)
  t.match(anonymous.body, /id="login"/, 'without credentials, the login form')
  t.match(anonymous.headers['content-security-policy'], /script-src 'self'/, 'no inline or foreign script may run')
  t.equal(anonymous.headers['x-content-type-options'], 'nosniff')
  t.match((await app.inject({ url: '/aip/state' })).json(), { statusCode: 401, code: 'AIP_ERR_FASTIFY_MISSING_API_KEY' })
  t.equal((await app.inject({ url: '/aip/events' })).statusCode, 401, 'the event stream is guarded too')

  const wrong = await app.inject({ method: 'POST', url: '/aip/login', body: { key: 'nope' } })
  t.match(wrong.json(), { statusCode: 401, code: 'AIP_ERR_FASTIFY_INVALID_API_KEY' })
  t.equal(wrong.headers['set-cookie'], undefined)
  t.equal((await app.inject({ method: 'POST', url: '/aip/login', body: {} })).statusCode, 401, 'a login without a key is refused')

  const right = await app.inject({ method: 'POST', url: '/aip/login', body: { key: API_KEY } })
  const setCookie = String(right.headers['set-cookie'])
  t.match(setCookie, /^aip_dashboard=[\w-]+; Path=\/aip; HttpOnly; SameSite=Strict$/, 'an HttpOnly, same-site cookie scoped to the page')
  t.notMatch(setCookie, API_KEY, 'the cookie is not the key')
  const cookie = setCookie.split(';')[0] as string
  t.match((await app.inject({ url: '/aip', headers: { cookie } })).body, /id="devices"/, 'with the cookie, the page')
  t.match((await app.inject({ url: '/aip', headers: { 'x-api-key': API_KEY } })).body, /id="devices"/, 'with the key, the page')
  t.match((await app.inject({ url: '/aip', headers: { 'x-api-key': 'bad' } })).body, /id="login"/, 'a wrong key gets the login form')
  t.equal((await app.inject({ url: '/aip/state', headers: { cookie: 'aip_dashboard=forged; other=1' } })).statusCode, 401, 'a forged cookie is refused')
  t.equal((await app.inject({ url: '/aip/state', headers: { cookie: 'other=1; ' + cookie } })).statusCode, 200, 'the cookie among others')
  const state = (await app.inject({ url: '/aip/state', headers: { 'x-api-key': API_KEY } })).json<DashboardSnapshot>()
  t.match(state, { devices: [], sessions: [], recentTasks: [], errors: [], server: { connections: 0, draining: false } })

  const logout = await app.inject({ method: 'POST', url: '/aip/logout', headers: { cookie } })
  t.match(String(logout.headers['set-cookie']), /^aip_dashboard=; .*Max-Age=0$/, 'logging out clears the cookie')

  const script = await app.inject({ url: '/aip/assets/app.js' })
  t.equal(script.statusCode, 200)
  t.match(script.headers['content-type'], /^text\/javascript/)
  t.match((await app.inject({ url: '/aip/assets/app.css' })).headers['content-type'], /^text\/css/)
  t.equal((await app.inject({ url: '/aip/assets/..%2Fpackage.json' })).statusCode, 404, 'only the shipped assets are served')
  t.equal((await app.inject({ url: '/aip/assets/index.html' })).statusCode, 404)
})

/** Reads server-sent events from a real HTTP response. */
function events (response: IncomingMessage): () => Promise<{ event: string, data: any }> {
  let buffer = ''
  const queue: Array<{ event: string, data: any }> = []
  const waiters: Array<() => void> = []
  response.setEncoding('utf8')
  response.on('data', (chunk: string) => {
    buffer += chunk
    let end: number
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message'
      const data = /^data: (.*)$/m.exec(block)?.[1]
      if (data !== undefined) queue.push({ event, data: JSON.parse(data) })
      waiters.shift()?.()
    }
  })
  return async () => {
    for (let i = 0; i < 100 && queue.length === 0; i++) await new Promise<void>((resolve) => waiters.push(resolve))
    return queue.shift() as { event: string, data: any }
  }
}

test('the event stream sends a picture at once, then one after each change, refusals and failures included', async (t) => {
  const app = await buildApp(t, { token: TOKEN, apiKey: API_KEY, dashboard: { path: '/ops/fleet', recentErrors: 1, refreshMs: 60_000 } })
  const { ws, http } = await listen(app)
  const cookie = await login(app, '/ops/fleet')
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpRequest(`${http}/ops/fleet/events`, { headers: { cookie } }, resolve)
    req.on('error', reject)
    req.end()
  })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/event-stream/)
  const next = events(response)
  t.match(await next(), { event: 'snapshot', data: { devices: [] } }, 'the current picture first')

  const device = await registeredDevice(t, `${ws}/ws?token=${TOKEN}`, 'sse-dev', { metadata: { platform: 'linux', system_info: { cpu_count: 4, hostname: 'h', custom: { nested: true } } } })
  let picture = await next()
  t.match(picture.data.devices, [{ id: 'sse-dev', platform: 'linux', state: 'idle', runningTasks: 0, queuedTasks: 0, telemetry: { cpu_count: '4', hostname: 'h' } }], 'a device that registers')
  t.notOk('custom' in picture.data.devices[0].telemetry, 'only known telemetry facts, as text')
  device.send({ type: 'device_info_response', status: 'ok', client_type: 'device', client_id: 'sse-dev', metadata: { cpu_count: 4, hostname: 'h', load_average: 0.5 } })
  picture = await next()
  t.match(picture.data.devices[0].telemetry, { load_average: '0.5' }, 'telemetry a device pushes shows at once')

  const twin = await TestClient.connect(t, `${ws}/ws?token=${TOKEN}`)
  await twin.ask(deviceRegister('sse-dev'))
  device.send('{not json')
  for (let i = 0; i < 10 && picture.data.errors[0]?.kind !== 'frame refused'; i++) picture = await next()
  t.equal(picture.data.errors.length, 1, 'errors are bounded by recentErrors (the refusal was pushed out by the refused frame)')
  t.match(picture.data.errors[0], { kind: 'frame refused', detail: 'AIP_ERR_PROTOCOL_INVALID_JSON' })

  device.ws.terminate()
  for (let i = 0; i < 10 && picture.data.devices.length > 0; i++) picture = await next()
  t.same(picture.data.devices, [], 'a device that leaves')
  t.match(picture.data.errors[0], { kind: 'disconnected', detail: /^device sse-dev closed with 1006/ }, 'an abnormal close is an error')

  await app.close()
  await new Promise((resolve) => response.on('end', resolve))
  t.pass('closing the app ends the open streams')
})

test('invalid dashboard options are refused, and the page needs the API key', async (t) => {
  const bad: Array<[string, unknown]> = [
    ['dashboard', 1],
    ['dashboard.path', { path: 'aip' }],
    ['dashboard.path', { path: '/aip/' }],
    ['dashboard.path', { path: '/a"b' }],
    ['dashboard.recentTasks', { recentTasks: -1 }],
    ['dashboard.recentErrors', { recentErrors: 1.5 }],
    ['dashboard.refreshMs', { refreshMs: 10 }],
    ['dashboard', true]
  ]
  for (const [name, value] of bad) {
    const app = Fastify()
    app.register(aipPlugin, { dashboard: value } as never)
    await t.rejects(async () => { await app.ready() }, { code: 'AIP_ERR_INVALID_OPTION', message: new RegExp(`option ${name.replace('.', '\\.')}:`) }, `${name}: ${JSON.stringify(value)}`)
    await app.close()
  }
  const root = await buildApp(t, { apiKey: API_KEY, dashboard: { path: '/' } })
  t.match((await root.inject({ url: '/' })).body, /src="\/assets\/login\.js"/, 'at the root, assets are under /assets')
  const plain = await buildApp(t, { apiKey: API_KEY })
  t.equal((await plain.inject({ url: '/aip' })).statusCode, 404, 'no page unless asked')
})
