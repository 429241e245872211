import t from 'tap'
import { CloseCode, FailureJudge, IDENTITY_CONFLICT_GRACE_MS } from '../src/index.js'

const conflict = "client_id 'dev1' is already registered; duplicate registrations are not allowed"

t.test('before the first registration an identity conflict stops at once; after it, it is retried', async (t) => {
  const judge = new FailureJudge(() => 0)
  t.match(judge.judge({ refusal: conflict }), { reason: 'identity-conflict', retry: false })
  judge.registered()
  t.equal(judge.last, undefined, 'a registration forgets the last verdict')
  t.match(judge.judge({ refusal: conflict }), { reason: 'identity-conflict', retry: true })
})

t.test('a run of identity conflicts stops retrying once it outlasts the grace, and another failure ends the run', async (t) => {
  let now = 1000
  const judge = new FailureJudge(() => now)
  judge.registered()
  t.match(judge.judge({ refusal: conflict }), { retry: true })
  now += IDENTITY_CONFLICT_GRACE_MS - 1
  t.match(judge.judge({ refusal: conflict }), { retry: true }, 'still within the grace')
  t.match(judge.judge({}), { reason: 'network', retry: true }, 'a network failure ends the run')
  now += 10
  t.match(judge.judge({ refusal: conflict }), { retry: true }, 'a new run starts')
  now += IDENTITY_CONFLICT_GRACE_MS
  t.match(judge.judge({ refusal: conflict }), { reason: 'identity-conflict', retry: false }, 'the new run outlasted the grace')
  t.match(judge.last, { reason: 'identity-conflict', retry: false })
})

t.test('the judge passes the facts of the attempt through to the classification', async (t) => {
  const judge = new FailureJudge()
  t.match(judge.judge({ closeCode: CloseCode.GoingAway }), { reason: 'server-closing', retry: true, free: true })
  t.match(judge.judge({ httpStatus: 401 }), { reason: 'credentials', retry: false })
  t.match(judge.judge({ closeCode: CloseCode.PolicyViolation, wasRegistered: true }), { reason: 'closed', retry: true })
})
