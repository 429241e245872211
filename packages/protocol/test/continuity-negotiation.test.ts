import { test } from 'tap'
import {
  CAPABILITIES_KEY, CLIENT_MESSAGE_TYPES, GRANT_FIELD, TASK_CANCEL, TIMEOUT_KEY, buildTaskCancel, decodeClientMessage,
  encodeClientMessage, grantField, readGrant, requestedCapabilities, resumeDelayCap, taskTimeoutMs
} from '../src/index.js'

test('a REGISTER asks for the known capabilities only, each once', async (t) => {
  t.same(requestedCapabilities({ [CAPABILITIES_KEY]: ['resume', 'bogus', 'cancel', 'resume', 7] }), ['resume', 'cancel'])
  t.same(requestedCapabilities({ [CAPABILITIES_KEY]: 'resume' }), [], 'not an array: nothing asked')
  t.same(requestedCapabilities(null), [], 'a reference REGISTER asks for nothing')
})

test('a grant written by the server reads back the same', async (t) => {
  const grant = { capabilities: ['resume', 'deadline'] as const, epoch: 3, resumeWindowMs: 30000, resumed: true }
  const field = grantField(grant)
  t.same(field, { capabilities: ['resume', 'deadline'], epoch: 3, resume_window_ms: 30000, resumed: true }, 'snake case on the wire')
  t.same(readGrant({ [GRANT_FIELD]: field }), grant)
})

test('no grant, or a malformed one, reads as no grant', async (t) => {
  t.equal(readGrant(null), null, 'a reference server grants nothing')
  t.equal(readGrant({ [GRANT_FIELD]: 'yes' }), null)
  t.equal(readGrant({ [GRANT_FIELD]: { capabilities: 'resume', epoch: 1 } }), null)
  t.equal(readGrant({ [GRANT_FIELD]: { capabilities: [], epoch: -1 } }), null)
  const grant = readGrant({ [GRANT_FIELD]: { capabilities: ['resume', 'later'], epoch: 1, resume_window_ms: 'x' } })
  t.same(grant, { capabilities: ['resume'], epoch: 1, resumeWindowMs: 0, resumed: false }, 'unknown names and a bad window are dropped')
})

test('a TASK deadline is a positive integer of milliseconds', async (t) => {
  t.equal(taskTimeoutMs({ [TIMEOUT_KEY]: 1500 }), 1500)
  for (const bad of [0, -5, 1.5, '1500', null, Number.POSITIVE_INFINITY]) t.equal(taskTimeoutMs({ [TIMEOUT_KEY]: bad }), null, String(bad))
  t.equal(taskTimeoutMs(null), null)
})

test('task_cancel is an extension type: it decodes and round-trips, and is not a reference type', async (t) => {
  t.notOk((CLIENT_MESSAGE_TYPES as readonly string[]).includes(TASK_CANCEL), 'the reference list is unchanged')
  const message = buildTaskCancel({ clientId: 'orch@dev1', clientType: 'constellation', sessionId: 'orch@t1', targetId: 'dev1', reason: 'aborted' })
  t.equal(message.type, 'task_cancel')
  t.equal(message.error, 'aborted')
  const decoded = decodeClientMessage(encodeClientMessage(message))
  t.ok(decoded.ok)
  if (decoded.ok) t.same(decoded.value, message)
})

test('a client held by a resume window waits at most a quarter of it between reconnection attempts', async (t) => {
  t.equal(resumeDelayCap({ capabilities: ['resume'], epoch: 1, resumeWindowMs: 10_000, resumed: false }), 2500)
  t.equal(resumeDelayCap({ capabilities: ['resume'], epoch: 1, resumeWindowMs: 2, resumed: false }), 1, 'never below 1 ms')
  t.equal(resumeDelayCap({ capabilities: ['cancel'], epoch: 1, resumeWindowMs: 10_000, resumed: false }), undefined, 'no resume granted: no cap')
  t.equal(resumeDelayCap(null), undefined, 'no grant: no cap')
})
