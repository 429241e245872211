import { Clock } from '@tapjs/clock'
import { test } from 'tap'
import { API_KEY, buildApp } from './helpers/harness.js'

// The dashboard's login, its page and data, and /metrics count refused keys like the API does; an address past the
// limit gets 429 on each of them, the right key included, until the window passes.

test('the login after maxFailures wrong keys gets 429 with Retry-After, even with the right key, until the window passes', async (t) => {
  const clock = new Clock()
  const app = await buildApp(t, { apiKey: API_KEY, dashboard: true, authFailureLimit: { maxFailures: 3, windowMs: 60_000, now: () => clock.now() } })
  for (const key of ['guess-1', 'guess-2', 'guess-3']) {
    t.equal((await app.inject({ method: 'POST', url: '/aip/login', body: { key } })).statusCode, 401, `${key}: refused`)
  }
  const limited = await app.inject({ method: 'POST', url: '/aip/login', body: { key: API_KEY } })
  t.equal(limited.statusCode, 429, 'the right key cannot log in while the address is refused')
  t.match(limited.json(), { statusCode: 429, code: 'AIP_ERR_FASTIFY_AUTH_RATE_LIMITED' })
  t.equal(limited.headers['retry-after'], '60')
  t.equal(limited.headers['set-cookie'], undefined, 'no session cookie')
  t.equal((await app.inject({ url: '/aip', headers: { 'x-api-key': API_KEY } })).statusCode, 429, 'the page is refused')
  t.equal((await app.inject({ url: '/aip/state', headers: { 'x-api-key': API_KEY } })).statusCode, 429, 'and its data')
  t.equal((await app.inject({ url: '/aip/assets/app.css' })).statusCode, 200, 'static files are not guarded')

  clock.advance(60_000)
  const right = await app.inject({ method: 'POST', url: '/aip/login', body: { key: API_KEY } })
  t.equal(right.statusCode, 200, 'once the window has passed, the right key logs in')
  t.match(String(right.headers['set-cookie']), /^aip_dashboard=/)
})

test('a wrong key on the page or its data counts, a visit without credentials does not', async (t) => {
  const app = await buildApp(t, { apiKey: API_KEY, dashboard: true, authFailureLimit: { maxFailures: 2, windowMs: 60_000 } })
  for (let i = 0; i < 5; i++) t.match((await app.inject({ url: '/aip' })).body, /id="login"/, 'the login form, as often as asked')
  const wrong = await app.inject({ url: '/aip', headers: { 'x-api-key': 'guess' } })
  t.match(wrong.body, /id="login"/, 'a wrong key gets the login form...')
  t.equal((await app.inject({ url: '/aip/state', headers: { cookie: 'aip_dashboard=forged' } })).statusCode, 401, '...a forged cookie a 401')
  t.equal((await app.inject({ url: '/aip', headers: { 'x-api-key': API_KEY } })).statusCode, 429, 'and both count: the page cannot test guesses')
})

test('/metrics counts refused keys too', async (t) => {
  const app = await buildApp(t, { apiKey: API_KEY, metrics: true, authFailureLimit: { maxFailures: 1, windowMs: 60_000 } })
  t.equal((await app.inject({ url: '/metrics', headers: { authorization: 'Bearer guess' } })).statusCode, 401)
  const limited = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${API_KEY}` } })
  t.equal(limited.statusCode, 429)
  t.equal(limited.headers['retry-after'], '60')
  t.equal((await app.inject({ url: '/metrics', remoteAddress: '192.0.2.5', headers: { authorization: `Bearer ${API_KEY}` } })).statusCode, 200, 'another address scrapes on')
})
