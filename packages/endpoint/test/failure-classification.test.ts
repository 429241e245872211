import t from 'tap'
import { CloseCode, classifyFailure, IDENTITY_CONFLICT_GRACE_MS, type FailureFacts } from '../src/index.js'

const reconnecting = (facts: Omit<FailureFacts, 'firstConnection'>): FailureFacts => ({ ...facts, firstConnection: false })

t.test('failures that heal are retried, and those that cannot stop', async (t) => {
  const cases: Array<[Omit<FailureFacts, 'firstConnection'>, string, boolean]> = [
    [{}, 'network', true],
    [{ httpStatus: 503 }, 'server-error', true],
    [{ httpStatus: 429 }, 'server-error', true],
    [{ httpStatus: 408 }, 'server-error', true],
    [{ httpStatus: 401 }, 'credentials', false],
    [{ httpStatus: 403 }, 'credentials', false],
    [{ httpStatus: 404 }, 'rejected-upgrade', false],
    [{ refusal: "Target device 'dev1' is not connected" }, 'target-unavailable', true],
    [{ refusal: 'The server runs too many tasks; try again later' }, 'server-busy', true],
    [{ refusal: 'The server is shutting down' }, 'server-closing', true],
    [{ refusal: 'client_id is not allowed with the key used to connect' }, 'credentials', false],
    [{ refusal: 'client_type is not allowed with the key used to connect' }, 'credentials', false],
    [{ refusal: 'client_id has its own key; connect with it' }, 'credentials', false],
    [{ refusal: 'client_id is longer than 256 characters' }, 'invalid-registration', false],
    [{ refusal: 'The first message must be a REGISTER' }, 'invalid-registration', false],
    [{ refusal: 'REGISTER requires a non-empty client_id' }, 'invalid-registration', false],
    [{ refusal: "Target 'x' is not a device" }, 'invalid-registration', false],
    [{ refusal: '1 validation error for ClientMessage\ntype\n  Input should be ...' }, 'invalid-registration', false],
    [{ refusal: 'something new' }, 'refused', true],
    [{ registrationTimedOut: true }, 'registration-timeout', true],
    [{ closeCode: CloseCode.PolicyViolation }, 'policy', false],
    [{ closeCode: CloseCode.RegistrationRefused }, 'policy', false],
    [{ closeCode: CloseCode.PolicyViolation, wasRegistered: true }, 'closed', true],
    [{ closeCode: CloseCode.Replaced, wasRegistered: true }, 'identity-conflict', false],
    [{ closeCode: CloseCode.GoingAway }, 'server-closing', true],
    [{ closeCode: CloseCode.ServiceRestart }, 'server-closing', true],
    [{ closeCode: CloseCode.TryAgainLater }, 'server-busy', true],
    [{ closeCode: CloseCode.Normal }, 'closed', true],
    [{ closeCode: CloseCode.Abnormal }, 'closed', true]
  ]
  for (const [facts, reason, retry] of cases) {
    t.match(classifyFailure(reconnecting(facts)), { reason, retry }, JSON.stringify(facts))
  }
})

t.test('a server that goes away on purpose does not use the retry budget', async (t) => {
  t.equal(classifyFailure(reconnecting({ closeCode: CloseCode.GoingAway })).free, true)
  t.equal(classifyFailure(reconnecting({ closeCode: CloseCode.Normal })).free, true)
  t.equal(classifyFailure(reconnecting({ refusal: 'The server is shutting down' })).free, true)
  t.equal(classifyFailure(reconnecting({})).free, false)
  t.equal(classifyFailure(reconnecting({ refusal: "Target device 'd' is not connected" })).free, false)
})

t.test('an identity conflict stops a first connection, and a reconnection once it outlasts the grace', async (t) => {
  const refusal = "client_id 'dev1' is already registered; duplicate registrations are not allowed"
  t.match(classifyFailure({ refusal, firstConnection: true }), { reason: 'identity-conflict', retry: false })
  t.match(classifyFailure({ refusal, firstConnection: false }), { reason: 'identity-conflict', retry: true })
  t.match(classifyFailure({ refusal, firstConnection: false, identityConflictForMs: IDENTITY_CONFLICT_GRACE_MS - 1 }), { retry: true })
  t.match(classifyFailure({ refusal, firstConnection: false, identityConflictForMs: IDENTITY_CONFLICT_GRACE_MS }), { retry: false })
})

t.test('an HTTP status wins over everything else known of the attempt', async (t) => {
  t.match(classifyFailure({ httpStatus: 401, closeCode: CloseCode.GoingAway, firstConnection: false }), { reason: 'credentials', retry: false })
})
