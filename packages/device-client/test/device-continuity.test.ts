import { test } from 'tap'
import { CAPABILITIES_KEY } from '@aip/protocol'
import { DeviceContinuity } from '../src/continuity.js'
import { commandFrame, registrationAnswer } from './helpers/continuity.js'
import type { DecodedServerMessage } from '@aip/protocol'

test('the device continuity state: what it asks, the grant of each registration, the cache age, held COMMANDs', async (t) => {
  const off = new DeviceContinuity({ enabled: false, maxCachedResults: 10, now: () => 0 })
  t.equal(off.registrationMetadata(), undefined, 'disabled: the reference REGISTER')
  t.same(off.registered(registrationAnswer({ resumed: true }) as unknown as DecodedServerMessage), { grant: null, resumed: false, first: true },
    'disabled: a grant sent anyway is ignored')

  const on = new DeviceContinuity({ enabled: true, maxCachedResults: 10, now: () => 0 })
  t.same(on.registrationMetadata(), { [CAPABILITIES_KEY]: ['resume', 'cancel', 'deadline'] })
  t.same(on.facts(), { grant: null, first: false }, 'before any registration')
  // A frame decoded by the protocol carries its extension fields; a plain object has none: no grant.
  t.same(on.registered(registrationAnswer({ resumeWindowMs: 1000 }) as unknown as DecodedServerMessage), { grant: null, resumed: false, first: true })
  t.equal(on.cache.maxAgeMs, 0, 'no grant: nothing cached')
  t.same(on.facts(), { grant: null, first: true })

  const held = [commandFrame({ responseId: 'a', actions: [] }), commandFrame({ responseId: 'b', actions: [] })] as unknown as DecodedServerMessage[]
  for (const message of held) on.hold(message)
  t.same(on.takeHeld().map((m) => m.response_id), ['a', 'b'], 'in order')
  t.same(on.takeHeld(), [], 'taken once')
  on.hold(held[0] as DecodedServerMessage)
  on.dropHeld()
  t.same(on.takeHeld(), [], 'dropped')
  t.equal(on.registered(registrationAnswer(null) as unknown as DecodedServerMessage).first, false, 'a second registration')
})
