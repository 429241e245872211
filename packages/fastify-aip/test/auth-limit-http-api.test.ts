import { Clock } from '@tapjs/clock'
import { test } from 'tap'
import { API_KEY, buildApp, logCapture } from './helpers/harness.js'

// The HTTP API behind X-API-Key: an address that keeps failing is refused with 429, whatever key it sends next.

const WINDOW_MS = 30_000

test('the attempt after maxFailures refused keys gets 429 with Retry-After, even with the right key', async (t) => {
  const clock = new Clock()
  const log = logCapture()
  const app = await buildApp(t, { apiKey: API_KEY, authFailureLimit: { maxFailures: 3, windowMs: WINDOW_MS, now: () => clock.now() } }, {
    logger: { level: 'warn', stream: log.stream }
  })
  t.equal((await app.inject({ url: '/api/health', headers: { 'x-api-key': 'guess-1' } })).statusCode, 401)
  t.equal((await app.inject({ url: '/api/health' })).statusCode, 401, 'a missing key counts too')
  t.equal((await app.inject({ method: 'POST', url: '/api/dispatch', headers: { 'x-api-key': 'guess-3' }, body: { client_id: 'd', request: 'r' } })).statusCode, 401)

  const limited = await app.inject({ url: '/api/clients', headers: { 'x-api-key': 'guess-4' } })
  t.equal(limited.statusCode, 429, 'the fourth attempt is refused before its key is looked at')
  t.match(limited.json(), { statusCode: 429, code: 'AIP_ERR_FASTIFY_AUTH_RATE_LIMITED', error: 'Too Many Requests' })
  t.equal(limited.headers['retry-after'], '30', 'Retry-After: the rest of the window, in seconds')
  t.equal(limited.headers.connection, 'close')

  const right = await app.inject({ url: '/api/health', headers: { 'x-api-key': API_KEY } })
  t.equal(right.statusCode, 429, 'the right key is refused too: guessing cannot go on')
  const body = await app.inject({ method: 'POST', url: '/api/dispatch', headers: { 'x-api-key': API_KEY }, body: { client_id: 'd', request: 'r' } })
  t.equal(body.statusCode, 429, 'a request with a body is refused alike')

  clock.advance(12_000)
  t.equal((await app.inject({ url: '/api/health', headers: { 'x-api-key': API_KEY } })).headers['retry-after'], '18', 'Retry-After counts down')

  clock.advance(WINDOW_MS - 12_000)
  const after = await app.inject({ url: '/api/health', headers: { 'x-api-key': API_KEY } })
  t.equal(after.statusCode, 200, 'once the window has passed, the right key works again')
  t.equal(after.headers['retry-after'], undefined)

  const warnings = log.lines.filter((line) => line.msg === 'too many failed authentications: address refused until its window ends')
  t.equal(warnings.length, 1, 'four refusals in the window, one warning')
  t.match(warnings[0], { level: 40, plugin: 'fastify-aip', remoteAddress: '127.0.0.1', failures: 3, windowMs: WINDOW_MS })
  t.notMatch(log.text(), API_KEY, 'the key is never logged')
})

test('a success does not reset the count: a right key among guesses tells nothing', async (t) => {
  const app = await buildApp(t, { apiKey: API_KEY, authFailureLimit: { maxFailures: 2, windowMs: WINDOW_MS } })
  t.equal((await app.inject({ url: '/api/health', headers: { 'x-api-key': 'guess' } })).statusCode, 401)
  t.equal((await app.inject({ url: '/api/health', headers: { 'x-api-key': API_KEY } })).statusCode, 200)
  t.equal((await app.inject({ url: '/api/health', headers: { 'x-api-key': 'guess' } })).statusCode, 401, 'the second failure, after a success')
  t.equal((await app.inject({ url: '/api/health', headers: { 'x-api-key': API_KEY } })).statusCode, 429, 'two failures in the window: refused')
})

test('other addresses are not affected, and request.ip follows trustProxy', async (t) => {
  const app = await buildApp(t, { apiKey: API_KEY, authFailureLimit: { maxFailures: 1, windowMs: WINDOW_MS } }, { trustProxy: true })
  const from = (address: string, key: string): Promise<{ statusCode: number }> =>
    app.inject({ url: '/api/health', remoteAddress: '10.0.0.9', headers: { 'x-api-key': key, 'x-forwarded-for': address } })
  t.equal((await from('198.51.100.7', 'guess')).statusCode, 401)
  t.equal((await from('198.51.100.7', API_KEY)).statusCode, 429, 'the client behind the proxy is refused')
  t.equal((await from('198.51.100.8', API_KEY)).statusCode, 200, 'another client behind the same proxy is not')
  t.equal((await app.inject({ url: '/api/health', remoteAddress: '192.0.2.1', headers: { 'x-api-key': API_KEY } })).statusCode, 200, 'nor a direct client')
})

test('the limit is on by default: 20 failures a minute', async (t) => {
  const app = await buildApp(t, { apiKey: API_KEY })
  for (let i = 0; i < 20; i++) t.equal((await app.inject({ url: '/api/health', headers: { 'x-api-key': `guess-${i}` } })).statusCode, 401)
  const limited = await app.inject({ url: '/api/health', headers: { 'x-api-key': API_KEY } })
  t.equal(limited.statusCode, 429)
  t.ok(Number(limited.headers['retry-after']) > 0 && Number(limited.headers['retry-after']) <= 60, 'within the 60 s window')
})
