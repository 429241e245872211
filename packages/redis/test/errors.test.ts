import { readFileSync } from 'node:fs'
import t from 'tap'
import * as api from '../src/index.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

/** The codes of every error constructor the package exports. */
function exportedCodes (): string[] {
  const codes: string[] = []
  for (const value of Object.values(api)) {
    if (typeof value === 'function' && value.prototype instanceof Error) {
      const err = new (value as new (...args: unknown[]) => Error & { code: string })('x', 1, 'fenced')
      codes.push(err.code)
    }
  }
  return codes.sort()
}

/** Codes listed in the first column of the README's error table. */
function documentedCodes (): string[] {
  const header = readme.indexOf('| Code | Description | How to solve |')
  const rows = readme.slice(header).split('\n').slice(2)
  const end = rows.findIndex((line) => !line.startsWith('|'))
  return rows.slice(0, end === -1 ? undefined : end).map((line) => line.split('|')[1]?.trim().replace(/`/g, '') ?? '').sort()
}

t.test('every exported error code is documented in the README error table', async (t) => {
  const exported = exportedCodes()
  t.same(exported, [
    'AIP_ERR_REDIS_CLOSED',
    'AIP_ERR_REDIS_CLUSTER_FORMAT',
    'AIP_ERR_REDIS_COMMAND',
    'AIP_ERR_REDIS_FENCED',
    'AIP_ERR_REDIS_INVALID_ARGUMENT',
    'AIP_ERR_REDIS_INVALID_OPTION',
    'AIP_ERR_REDIS_STREAM_FULL',
    'AIP_ERR_REDIS_UNAVAILABLE'
  ])
  t.same(documentedCodes(), exported, 'the table lists exactly the exported codes')
})

t.test('errors carry structured fields and narrow with instanceof', async (t) => {
  const cause = new Error('connect ECONNREFUSED')
  const unavailable = new api.RedisUnavailableError('lease.register', 'down', cause)
  t.ok(unavailable instanceof api.RedisUnavailableError)
  t.match(unavailable, { code: 'AIP_ERR_REDIS_UNAVAILABLE', statusCode: 503, operation: 'lease.register', state: 'down', cause })
  t.equal(new api.RedisUnavailableError('probe', 'closed').cause, undefined)
  t.match(new api.RedisCommandError('session.get', cause), { code: 'AIP_ERR_REDIS_COMMAND', operation: 'session.get', cause })
  t.match(new api.FencedError('device-1', 3, 'expired'), { code: 'AIP_ERR_REDIS_FENCED', statusCode: 409, clientId: 'device-1', epoch: 3, reason: 'expired' })
  t.match(new api.StreamFullError('device:d', 10), { code: 'AIP_ERR_REDIS_STREAM_FULL', stream: 'device:d', maxLength: 10 })
  const format = new api.ClusterFormatError('node-a', '0', 1)
  t.ok(format instanceof api.ClusterFormatError)
  t.match(format, { code: 'AIP_ERR_REDIS_CLUSTER_FORMAT', statusCode: 503, nodeId: 'node-a', format: '0', ownFormat: 1, message: /node-a .* format 0 .* runs 1/ })
})
