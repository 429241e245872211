import type { FailureReason } from './failure.js'
import type { LifecycleTable } from './lifecycle-state.js'

/**
 * Why a client connection is down or was never up: the cause of a `lost` or `reconnecting` state.
 *
 * | kind | what happened |
 * |---|---|
 * | `connect` | the socket could not be opened (network failure, refused upgrade) |
 * | `registration` | the REGISTER was refused or got no answer |
 * | `closed` | the server or the network closed a registered connection |
 * | `heartbeat` | heartbeats went unanswered (the server stopped answering) |
 * | `silence` | no frame nor pong within the dead-peer deadline (a half-open connection) |
 */
export interface DisconnectCause {
  readonly kind: 'connect' | 'registration' | 'closed' | 'heartbeat' | 'silence'
  /** The close code, when a connection closed. */
  readonly code?: number | undefined
  /** A readable description (the close reason, the error message). */
  readonly message: string
  /** The underlying error, if any. */
  readonly error?: unknown
}

/** Why a connection is `stopped`: `stop()` was called, a failure retrying cannot heal, or the retry budget ran out. */
export type StopReason = 'stopped' | 'fatal' | 'exhausted'

/**
 * The life of one client connection (a device client's, or one device connection of a constellation), a union
 * on `kind` with the data of each state:
 *
 * ```
 * idle ─connect─► connecting ─registered─► registered
 *                  │   ▲                      │
 *                lose  connect              lose / retry
 *                  ▼   │                      ▼
 *                 lost ─retry─► reconnecting ─connect─► connecting ...
 * any ─giveUp─► stopped (fatal | exhausted) ─connect─► connecting    (an explicit revival)
 * any ─stop───► stopped (stopped)                                    (final)
 * ```
 *
 * - `idle`: created, never connected.
 * - `connecting`: opening the socket and registering; `attempt` is 0 for the first connection, then the
 *   reconnection attempt's number.
 * - `registered`: the server accepted the REGISTER; the connection is live since `connectedAt` (ms, wall clock).
 * - `lost`: the connection or the attempt failed and the next step is not decided yet (the recovery hooks run).
 * - `reconnecting`: waiting `delayMs` before attempt number `attempt`, because of `cause`.
 * - `stopped`: no more attempts. `reason` `stopped` is final; `fatal` (a failure retrying cannot heal, named by
 *   `failure`) and `exhausted` (the retry budget ran out) are a given-up end that only an explicit `connect`
 *   leaves.
 */
export type ConnectionState =
  | { readonly kind: 'idle' }
  | { readonly kind: 'connecting', readonly attempt: number }
  | { readonly kind: 'registered', readonly connectedAt: number }
  | { readonly kind: 'lost', readonly cause: DisconnectCause }
  | { readonly kind: 'reconnecting', readonly attempt: number, readonly delayMs: number, readonly cause: DisconnectCause }
  | {
    readonly kind: 'stopped'
    readonly reason: StopReason
    /** Why the connection gave up (`fatal`, `exhausted`). */
    readonly error?: Error | undefined
    /** For `fatal` and `exhausted`: the classified last failure (see `classifyFailure`). */
    readonly failure?: FailureReason | undefined
  }

/** The kinds of {@link ConnectionState}. */
export type ConnectionStateKind = ConnectionState['kind']

/** What happens to a connection; {@link nextConnectionState} turns a state and an event into the next state. */
export type ConnectionEvent =
  /** An attempt to open and register starts. */
  | { readonly type: 'connect', readonly attempt: number }
  /** The server accepted the REGISTER. */
  | { readonly type: 'registered', readonly at: number }
  /** The attempt or the registered connection failed; what comes next is not decided yet. */
  | { readonly type: 'lose', readonly cause: DisconnectCause }
  /** The reconnection strategy waits `delayMs` before attempt `attempt`. */
  | { readonly type: 'retry', readonly attempt: number, readonly delayMs: number, readonly cause: DisconnectCause }
  /** Retrying stops: a failure that cannot heal (`fatal`) or a spent budget (`exhausted`). */
  | {
    readonly type: 'giveUp'
    readonly reason: 'fatal' | 'exhausted'
    readonly error?: Error | undefined
    readonly failure?: FailureReason | undefined
  }
  /** The owner stops the connection on purpose. */
  | { readonly type: 'stop' }

/** The states each event may leave. Anything else is refused. */
const FROM: { readonly [T in ConnectionEvent['type']]: readonly ConnectionStateKind[] } = {
  connect: ['idle', 'lost', 'reconnecting', 'stopped'],
  registered: ['connecting'],
  lose: ['connecting', 'registered'],
  retry: ['connecting', 'registered', 'lost', 'reconnecting'],
  giveUp: ['connecting', 'registered', 'lost', 'reconnecting'],
  stop: ['idle', 'connecting', 'registered', 'lost', 'reconnecting', 'stopped']
}

/**
 * The one transition function of the client connection lifecycle, pure: the next state for `event` in `state`
 * (a new frozen object), or `undefined` when the lifecycle refuses the move. Refused: leaving a `stopped`
 * state of reason `stopped` (final), `connect` while connecting or registered, `registered` outside
 * `connecting`, `lose` outside `connecting` / `registered`, `retry` and `giveUp` from `idle` or `stopped`.
 */
export function nextConnectionState (state: ConnectionState, event: ConnectionEvent): ConnectionState | undefined {
  if (!FROM[event.type].includes(state.kind)) return undefined
  if (state.kind === 'stopped' && state.reason === 'stopped') return undefined
  switch (event.type) {
    case 'connect':
      return Object.freeze({ kind: 'connecting', attempt: event.attempt })
    case 'registered':
      return Object.freeze({ kind: 'registered', connectedAt: event.at })
    case 'lose':
      return Object.freeze({ kind: 'lost', cause: event.cause })
    case 'retry':
      return Object.freeze({ kind: 'reconnecting', attempt: event.attempt, delayMs: event.delayMs, cause: event.cause })
    case 'giveUp':
      return Object.freeze({
        kind: 'stopped',
        reason: event.reason,
        ...(event.error === undefined ? {} : { error: event.error }),
        ...(event.failure === undefined ? {} : { failure: event.failure })
      })
    case 'stop':
      return Object.freeze({ kind: 'stopped', reason: 'stopped' })
  }
}

/**
 * The kinds of {@link ConnectionState} as an endpoint lifecycle table (`AIPEndpoint`'s `state`): a client endpoint
 * with one connection (the device client) mirrors its connection's kind there. Every move
 * {@link nextConnectionState} allows between two kinds is in it.
 */
export const CLIENT_LIFECYCLE: LifecycleTable<ConnectionStateKind> = Object.freeze({
  initial: 'idle',
  transitions: Object.freeze({
    idle: Object.freeze(['connecting', 'stopped'] as const),
    connecting: Object.freeze(['registered', 'lost', 'reconnecting', 'stopped'] as const),
    registered: Object.freeze(['lost', 'reconnecting', 'stopped'] as const),
    lost: Object.freeze(['connecting', 'reconnecting', 'stopped'] as const),
    reconnecting: Object.freeze(['connecting', 'reconnecting', 'stopped'] as const),
    stopped: Object.freeze(['connecting', 'stopped'] as const)
  })
})

/** A state change: the state left and the state entered. */
export interface ConnectionStateChange {
  readonly state: ConnectionState
  readonly previous: ConnectionState
}

/**
 * Holds the lifecycle state of one connection. {@link ConnectionLifecycle.apply} is the one place its state
 * changes: it runs {@link nextConnectionState} and, when the move is allowed, stores the new state and calls
 * `onChange` (which emits the owner's events).
 */
export class ConnectionLifecycle {
  #state: ConnectionState = Object.freeze({ kind: 'idle' })
  readonly #onChange: (change: ConnectionStateChange) => void

  /** @param onChange - called after every allowed change, with the new and the previous state */
  constructor (onChange: (change: ConnectionStateChange) => void) {
    this.#onChange = onChange
  }

  /** The current state (frozen). */
  get state (): ConnectionState {
    return this.#state
  }

  /** Applies an event; returns `false` (and changes nothing) when the lifecycle refuses it. */
  apply (event: ConnectionEvent): boolean {
    const previous = this.#state
    const state = nextConnectionState(previous, event)
    if (state === undefined) return false
    this.#state = state
    this.#onChange({ state, previous })
    return true
  }
}
