import { test } from 'tap'
import { decodeClientMessage, ProtocolErrorCode, type ProtocolIssue } from '../src/index.js'
import { line, wireText } from '@aip/test-support'

// The frames of the s2 error matrix that the reference rejected while parsing are rejected by decode for the
// same reason, and named by path.

const S2 = 's2-error-matrix.jsonl'

function rejection (text: string | Buffer): { code: string, issues: readonly ProtocolIssue[] } {
  const result = decodeClientMessage(text)
  if (result.ok) throw new Error(`accepted: ${String(text)}`)
  return { code: result.error.code, issues: 'issues' in result.error ? result.error.issues : [] }
}

test('REGISTER without status (probe7) is rejected: status is required', async (t) => {
  const { code, issues } = rejection(wireText(line(S2, 7)))
  t.equal(code, ProtocolErrorCode.INVALID_MESSAGE)
  t.same(issues, [{ path: '/status', message: 'is required' }])
})

test('"not json" (probe8) and "garbage" (probe10) are rejected as invalid JSON', async (t) => {
  t.equal(rejection(wireText(line(S2, 8))).code, ProtocolErrorCode.INVALID_JSON)
  t.equal(rejection(wireText(line(S2, 27))).code, ProtocolErrorCode.INVALID_JSON)
})

test('type "bogus" (probe10) is rejected as an unknown enum value', async (t) => {
  const { code, issues } = rejection(wireText(line(S2, 23)))
  t.equal(code, ProtocolErrorCode.INVALID_MESSAGE)
  t.equal(issues.length, 1)
  t.equal(issues[0]?.path, '/type')
  t.match(issues[0]?.message, /^must be one of "task", .*got "bogus"$/)
})

test('HEARTBEAT without status (probe10) is rejected: status is required', async (t) => {
  const { issues } = rejection(wireText(line(S2, 25)))
  t.same(issues, [{ path: '/status', message: 'is required' }])
})

test('a missing type is rejected', async (t) => {
  t.same(rejection('{"status": "ok"}').issues, [{ path: '/type', message: 'is required' }])
})

test('enum values are case-sensitive', async (t) => {
  t.equal(rejection('{"type": "TASK", "status": "ok"}').issues[0]?.path, '/type')
  t.equal(rejection('{"type": "task", "status": "OK"}').issues[0]?.path, '/status')
  t.equal(rejection('{"type": "task", "status": "ok", "client_type": "Device"}').issues[0]?.path, '/client_type')
})

test('a number is never accepted where a string is expected', async (t) => {
  for (const field of ['client_id', 'timestamp', 'session_id', 'request', 'error']) {
    const { issues } = rejection(`{"type": "task", "status": "ok", "${field}": 5}`)
    t.same(issues, [{ path: `/${field}`, message: 'must be a string or null, got 5' }], field)
  }
})

test('client_type may be omitted but not null', async (t) => {
  t.equal(rejection('{"type": "task", "status": "ok", "client_type": null}').issues[0]?.path, '/client_type')
})

test('a frame that is not an object is rejected', async (t) => {
  for (const text of ['[]', '"register"', '42', 'null', 'true']) {
    const { code, issues } = rejection(text)
    t.equal(code, ProtocolErrorCode.INVALID_MESSAGE, text)
    t.equal(issues[0]?.path, '/', text)
  }
})

test('nested problems are named by their path', async (t) => {
  const { issues } = rejection(JSON.stringify({
    type: 'command_results',
    status: 'continue',
    action_results: [{ status: 'success' }, { status: 'done' }, { error: 'x' }],
    metadata: []
  }))
  t.same(issues, [
    { path: '/action_results/1/status', message: 'must be one of "success", "failure", "skipped", "none", got "done"' },
    { path: '/action_results/2/status', message: 'is required' },
    { path: '/metadata', message: 'must be an object or null, got an array' }
  ])
})

test('every problem is listed, up to a bound', async (t) => {
  const results = Array.from({ length: 50 }, () => ({ status: 1 }))
  const { issues } = rejection(JSON.stringify({ type: 'command_results', status: 'continue', action_results: results }))
  t.equal(issues.length, 10)
})

test('the error message lists the problems for a log reader', async (t) => {
  const result = decodeClientMessage('{"type": "bogus"}')
  t.notOk(result.ok)
  if (result.ok) return
  t.match(result.error.message, /^Invalid client message: /)
  t.match(result.error.message, /\/status is required/)
  t.match(result.error.message, /\/type must be one of "task", .*got "bogus"/)
  t.equal(result.error.statusCode, 400)
})
