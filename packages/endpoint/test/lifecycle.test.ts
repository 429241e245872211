import t from 'tap'
import {
  CLIENT_LIFECYCLE, ConnectionLifecycle, nextConnectionState, type ConnectionEvent, type ConnectionState, type ConnectionStateChange,
  type DisconnectCause
} from '../src/index.js'

const cause: DisconnectCause = { kind: 'closed', code: 1006, message: 'gone' }
const error = new Error('refused')

/** One state of every kind (and both ends of `stopped`). */
const states: Record<string, ConnectionState> = {
  idle: { kind: 'idle' },
  connecting: { kind: 'connecting', attempt: 0 },
  registered: { kind: 'registered', connectedAt: 1 },
  lost: { kind: 'lost', cause },
  reconnecting: { kind: 'reconnecting', attempt: 1, delayMs: 5, cause },
  'stopped (stopped)': { kind: 'stopped', reason: 'stopped' },
  'stopped (fatal)': { kind: 'stopped', reason: 'fatal', error, failure: 'credentials' },
  'stopped (exhausted)': { kind: 'stopped', reason: 'exhausted' }
}

/** One event of every type, with the state it leads to. */
const events: Record<string, [ConnectionEvent, ConnectionState]> = {
  connect: [{ type: 'connect', attempt: 3 }, { kind: 'connecting', attempt: 3 }],
  registered: [{ type: 'registered', at: 42 }, { kind: 'registered', connectedAt: 42 }],
  lose: [{ type: 'lose', cause }, { kind: 'lost', cause }],
  retry: [{ type: 'retry', attempt: 2, delayMs: 100, cause }, { kind: 'reconnecting', attempt: 2, delayMs: 100, cause }],
  giveUp: [
    { type: 'giveUp', reason: 'fatal', error, failure: 'credentials' },
    { kind: 'stopped', reason: 'fatal', error, failure: 'credentials' }
  ],
  stop: [{ type: 'stop' }, { kind: 'stopped', reason: 'stopped' }]
}

/** Every allowed move, as `state -> event`; every other pair is refused. */
const allowed = new Set([
  'idle -> connect', 'idle -> stop',
  'connecting -> registered', 'connecting -> lose', 'connecting -> retry', 'connecting -> giveUp', 'connecting -> stop',
  'registered -> lose', 'registered -> retry', 'registered -> giveUp', 'registered -> stop',
  'lost -> connect', 'lost -> retry', 'lost -> giveUp', 'lost -> stop',
  'reconnecting -> connect', 'reconnecting -> retry', 'reconnecting -> giveUp', 'reconnecting -> stop',
  'stopped (fatal) -> connect', 'stopped (fatal) -> stop',
  'stopped (exhausted) -> connect', 'stopped (exhausted) -> stop'
])

t.test('every state and event pair is either the documented move or refused', async (t) => {
  let checked = 0
  for (const [stateName, state] of Object.entries(states)) {
    for (const [eventName, [event, expected]] of Object.entries(events)) {
      const pair = `${stateName} -> ${eventName}`
      const next = nextConnectionState(state, event)
      if (allowed.has(pair)) {
        t.same(next, expected, `${pair} is allowed`)
        t.ok(Object.isFrozen(next), `${pair} gives a frozen state`)
      } else {
        t.equal(next, undefined, `${pair} is refused`)
      }
      checked++
    }
  }
  t.equal(checked, Object.keys(states).length * Object.keys(events).length)
})

t.test('a giving-up event without error or failure carries only its reason', async (t) => {
  t.same(nextConnectionState(states.connecting as ConnectionState, { type: 'giveUp', reason: 'exhausted' }), { kind: 'stopped', reason: 'exhausted' })
})

t.test('the transition function never changes the state it is given', async (t) => {
  const state = Object.freeze({ kind: 'connecting', attempt: 1 }) as ConnectionState
  nextConnectionState(state, { type: 'registered', at: 5 })
  t.same(state, { kind: 'connecting', attempt: 1 })
})

t.test('the lifecycle holder changes its state only through allowed moves, and reports each change', async (t) => {
  const changes: ConnectionStateChange[] = []
  const lifecycle = new ConnectionLifecycle((change) => changes.push(change))
  t.same(lifecycle.state, { kind: 'idle' })
  t.equal(lifecycle.apply({ type: 'registered', at: 1 }), false, 'refused: not connecting')
  t.equal(changes.length, 0, 'a refused move reports nothing')
  t.equal(lifecycle.apply({ type: 'connect', attempt: 0 }), true)
  t.equal(lifecycle.apply({ type: 'registered', at: 7 }), true)
  t.equal(lifecycle.apply({ type: 'stop' }), true)
  t.equal(lifecycle.apply({ type: 'connect', attempt: 1 }), false, 'stopped on purpose is final')
  t.same(changes.map(({ previous, state }) => [previous.kind, state.kind]), [
    ['idle', 'connecting'], ['connecting', 'registered'], ['registered', 'stopped']
  ])
  t.same(lifecycle.state, { kind: 'stopped', reason: 'stopped' })
})

t.test('the client lifecycle table holds every move between kinds the transition function allows', async (t) => {
  for (const [stateName, state] of Object.entries(states)) {
    for (const [eventName, [event]] of Object.entries(events)) {
      const next = nextConnectionState(state, event)
      if (next === undefined || next.kind === state.kind) continue
      t.ok(CLIENT_LIFECYCLE.transitions[state.kind].includes(next.kind), `${stateName} -> ${eventName} (${next.kind}) is in the table`)
    }
  }
  t.equal(CLIENT_LIFECYCLE.initial, 'idle')
})
