import { test } from 'tap'
import { TOKEN, buildApp, type Teardown, listen, logCapture } from './helpers/harness.js'
import { UPGRADE_MODES, portOf, rawUpgrade } from './helpers/upgrade.js'

// A refused upgrade gets the same bytes whichever way the plugin serves its path: 401 without a token, 403 with a
// wrong one, 429 with Retry-After once the address failed too often; and the same warnings are logged.

const CASES = [
  { name: 'no token', path: '/ws', status: 401 },
  { name: 'a wrong token', path: '/ws?token=wrong', status: 403 },
  { name: 'a disallowed origin', path: `/ws?token=${TOKEN}`, status: 403, headers: { Origin: 'https://evil.example' } },
  { name: 'the right token, after the address failed three times', path: `/ws?token=${TOKEN}`, status: 429 }
]

interface Seen { answers: string[], warnings: Array<Record<string, unknown>> }

async function refusals (t: Teardown & { equal: (found: unknown, wanted: unknown, message: string) => void }, upgrade: 'route' | 'direct'): Promise<Seen> {
  const log = logCapture()
  const app = await buildApp(t, {
    token: TOKEN, upgrade, allowedOrigins: ['https://console.example'], authFailureLimit: { maxFailures: 3, windowMs: 60_000, now: () => 0 }
  }, { logger: { level: 'warn', stream: log.stream } })
  await listen(app)
  const answers: string[] = []
  for (const refusal of CASES) answers.push(await rawUpgrade(portOf(app), refusal.path, refusal.headers))
  t.equal(app.aip.connectionCount, 0, `${upgrade}: no WebSocket was opened`)
  await app.close()
  const warnings = log.lines
    .filter((line) => line.level === 40)
    .map(({ msg, status, reason, remoteAddress, failures, retryAfterSeconds }) => ({ msg, status, reason, remoteAddress, failures, retryAfterSeconds }))
  return { answers, warnings }
}

test('a refused upgrade gets the same HTTP answer and logs the same warnings with upgrade "route" and "direct"', async (t) => {
  const [route, direct] = [await refusals(t, UPGRADE_MODES[0]), await refusals(t, UPGRADE_MODES[1])]
  CASES.forEach((refusal, i) => {
    t.match(route.answers[i], new RegExp(`^HTTP/1\\.1 ${refusal.status} `), `${refusal.name}: ${refusal.status} on the route`)
    t.equal(direct.answers[i], route.answers[i], `${refusal.name}: the same bytes directly`)
  })
  t.match(route.answers[3], /\r\nretry-after: 60\r\n/i, 'the 429 says when to retry')
  t.match(route.answers[3], /"code":"AIP_ERR_FASTIFY_AUTH_RATE_LIMITED"/)
  t.match(route.answers[0], /\r\nconnection: close\r\n/i, 'the connection is closed after a refusal')
  t.same(direct.warnings, route.warnings, 'the same warnings')
  t.equal(route.warnings.filter((w) => w.msg === 'websocket upgrade refused').length, 3, 'each refused credential logged once')
})
