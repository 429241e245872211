import { InvalidStateTransitionError } from './errors.js'

/**
 * A lifecycle table: the state an endpoint starts in, and for every state the states it may move to. Each
 * endpoint class declares its own (the server's is {@link SERVER_LIFECYCLE}); {@link AIPEndpoint} checks every
 * transition against it.
 */
export interface LifecycleTable<S extends string> {
  /** The state of a new endpoint. */
  readonly initial: S
  /** For each state, the states it may move to (a state absent from its own list cannot repeat). */
  readonly transitions: { readonly [K in S]: readonly S[] }
}

/** The states of the default lifecycle of an endpoint. */
export type EndpointState = 'created' | 'started' | 'stopped'

/**
 * The default lifecycle: created → started → stopped, and a stopped endpoint may be started again.
 *
 * ```
 * created ──► started ──► stopped
 *    └───────────────────────▲ │
 *             started ◄────────┘
 * ```
 */
export const DEFAULT_LIFECYCLE: LifecycleTable<EndpointState> = Object.freeze({
  initial: 'created',
  transitions: Object.freeze({
    created: Object.freeze(['started', 'stopped'] as const),
    started: Object.freeze(['stopped'] as const),
    stopped: Object.freeze(['started'] as const)
  })
})

/** The states of a device-agent server (the design's lifecycle). */
export type ServerState = 'created' | 'started' | 'listening' | 'handling' | 'stopped'

/**
 * The lifecycle of a device-agent server: created → started (options and stores ready) → listening (accepting
 * connections) → handling (at least one client registered; back to listening when the last one leaves) →
 * stopped. `stop()` is allowed from every state.
 */
export const SERVER_LIFECYCLE: LifecycleTable<ServerState> = Object.freeze({
  initial: 'created',
  transitions: Object.freeze({
    created: Object.freeze(['started', 'stopped'] as const),
    started: Object.freeze(['listening', 'stopped'] as const),
    listening: Object.freeze(['handling', 'stopped'] as const),
    handling: Object.freeze(['listening', 'stopped'] as const),
    stopped: Object.freeze([] as const)
  })
})

/** A transition recorded by a {@link LifecycleState}: emitted as the endpoint's `stateChange` event. */
export interface StateChange<S extends string = string> {
  readonly from: S
  readonly to: S
}

/**
 * The state of one lifecycle, changed only by {@link LifecycleState.transition}, which checks the table and
 * tells `onChange`. The change objects are made once per allowed move, frozen, and handed out again at every
 * transition (a server moves between `listening` and `handling` twice per task when one runs at a time).
 */
export class LifecycleState<S extends string> {
  readonly #onChange: (change: StateChange<S>) => void
  /** For each state, the change to each state it may move to. */
  readonly #changes: ReadonlyMap<S, ReadonlyMap<S, StateChange<S>>>
  #state: S

  constructor (table: LifecycleTable<S>, onChange: (change: StateChange<S>) => void) {
    this.#onChange = onChange
    this.#state = table.initial
    const changes = new Map<S, ReadonlyMap<S, StateChange<S>>>()
    for (const from of Object.keys(table.transitions) as S[]) {
      changes.set(from, new Map(table.transitions[from].map((to) => [to, Object.freeze({ from, to })])))
    }
    this.#changes = changes
  }

  /** The current state. */
  get state (): S {
    return this.#state
  }

  /** True when the table allows moving from the current state to `to`. */
  can (to: S): boolean {
    return this.#changes.get(this.#state)?.has(to) === true
  }

  /**
   * Moves to `to` and reports the change. Moving to the current state does nothing (and is not reported).
   * @throws `AIP_ERR_ENDPOINT_INVALID_STATE` when the table does not allow the move
   */
  transition (to: S): void {
    const from = this.#state
    if (from === to) return
    const change = this.#changes.get(from)?.get(to)
    if (change === undefined) throw new InvalidStateTransitionError(from, to)
    this.#state = to
    this.#onChange(change)
  }
}
