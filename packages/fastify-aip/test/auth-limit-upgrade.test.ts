import type { IncomingHttpHeaders } from 'node:http'
import { Clock } from '@tapjs/clock'
import { test } from 'tap'
import WebSocket from 'ws'
import { API_KEY, TOKEN, buildApp, listen, logCapture } from './helpers/harness.js'

// The WebSocket upgrade: refusals (401/403) are counted per address; past the limit, every upgrade from that
// address gets 429 with Retry-After before its token is looked at, and no WebSocket is opened.

interface Answer { status: number, headers: IncomingHttpHeaders, body: string }

/** Tries an upgrade: 101 when it is accepted (the socket is closed at once), else the HTTP answer. */
async function upgrade (url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const ws = new WebSocket(url, { headers })
  return await new Promise<Answer>((resolve, reject) => {
    ws.once('unexpected-response', (_request, response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => { body += chunk })
      response.on('end', () => { resolve({ status: response.statusCode ?? 0, headers: response.headers, body }); ws.terminate() })
    })
    ws.once('upgrade', (response) => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: '' }))
    ws.once('open', () => ws.terminate())
    ws.once('error', reject)
  })
}

test('the upgrade after maxFailures refusals gets 429 with Retry-After, even with the right token, until the window passes', async (t) => {
  const clock = new Clock()
  const log = logCapture()
  const app = await buildApp(t, { token: TOKEN, authFailureLimit: { maxFailures: 2, windowMs: 5_000, now: () => clock.now() } }, {
    logger: { level: 'warn', stream: log.stream }
  })
  const { ws } = await listen(app)
  t.equal((await upgrade(`${ws}/ws`)).status, 401, 'no token: 401, counted')
  t.equal((await upgrade(`${ws}/ws?token=wrong`)).status, 403, 'a wrong token: 403, counted')

  const limited = await upgrade(`${ws}/ws?token=${TOKEN}`)
  t.equal(limited.status, 429, 'the right token is refused too')
  t.equal(limited.headers['retry-after'], '5')
  t.equal(limited.headers.connection, 'close')
  t.match(JSON.parse(limited.body), { statusCode: 429, code: 'AIP_ERR_FASTIFY_AUTH_RATE_LIMITED' })
  t.equal(app.aip.stats().connections, 0, 'no WebSocket was opened')
  t.equal((await upgrade(`${ws}/ws?token=wrong`)).status, 429, 'a guess is not even looked at')

  clock.advance(5_000)
  t.equal((await upgrade(`${ws}/ws?token=${TOKEN}`)).status, 101, 'once the window has passed, the upgrade is accepted')

  const warnings = log.lines.filter((line) => line.msg === 'too many failed authentications: address refused until its window ends')
  t.equal(warnings.length, 1, 'one warning for the window')
  t.match(warnings[0], { remoteAddress: '127.0.0.1', failures: 2, windowMs: 5_000 })
  t.notMatch(log.text(), TOKEN, 'the token is never logged')
})

test('a refused upgrade and a refused API key count alike: the address is refused everywhere', async (t) => {
  const app = await buildApp(t, { token: TOKEN, apiKey: API_KEY, authFailureLimit: { maxFailures: 2, windowMs: 60_000 } })
  const { ws } = await listen(app)
  t.equal((await upgrade(`${ws}/ws?token=wrong`)).status, 403)
  t.equal((await app.inject({ url: '/api/health', remoteAddress: '127.0.0.1', headers: { 'x-api-key': 'guess' } })).statusCode, 401)
  t.equal((await upgrade(`${ws}/ws?token=${TOKEN}`)).status, 429, 'the upgrade is refused after a failure on each surface')
  t.equal((await app.inject({ url: '/api/health', remoteAddress: '127.0.0.1', headers: { 'x-api-key': API_KEY } })).statusCode, 429, 'and so is the API')
})

test('other addresses still upgrade while one is refused (trustProxy decides the address)', async (t) => {
  const app = await buildApp(t, { token: TOKEN, authFailureLimit: { maxFailures: 1, windowMs: 60_000 } }, { trustProxy: true })
  const { ws } = await listen(app)
  t.equal((await upgrade(`${ws}/ws?token=wrong`, { 'x-forwarded-for': '198.51.100.7' })).status, 403)
  t.equal((await upgrade(`${ws}/ws?token=${TOKEN}`, { 'x-forwarded-for': '198.51.100.7' })).status, 429)
  t.equal((await upgrade(`${ws}/ws?token=${TOKEN}`, { 'x-forwarded-for': '198.51.100.8' })).status, 101, 'another client is not affected')
  t.equal((await upgrade(`${ws}/ws?token=${TOKEN}`)).status, 101, 'nor the proxy itself')
})
