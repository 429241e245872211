import type { FailureReason } from '@aip/endpoint'
import { TypedEmitter, type Logger } from '@aip/resilience'

/** Why the client is reconnecting. */
export interface DisconnectCause {
  /**
   * `connect`: the socket could not be opened; `registration`: the REGISTER failed; `closed`: the server or the
   * network closed the connection; `heartbeat`: acks stopped (missed heartbeats); `silence`: no frame or pong
   * within `deadAfterMs` (a half-open connection).
   */
  readonly kind: 'connect' | 'registration' | 'closed' | 'heartbeat' | 'silence'
  /** The close code, when a connection closed. */
  readonly code?: number | undefined
  /** A readable description (the close reason, the error message). */
  readonly message: string
  /** The underlying error, if any. */
  readonly error?: unknown
}

/** Why the client stopped: `stop()` was called, a fatal refusal, or the reconnection budget ran out. */
export type StopReason = 'stopped' | 'fatal' | 'exhausted'

/** The state of a {@link DeviceClientEndpoint}; changed only by {@link StateMachine.transition}. */
export type ClientState =
  | { readonly kind: 'idle' }
  | { readonly kind: 'connecting', readonly attempt: number }
  | { readonly kind: 'registered', readonly connectedAt: number }
  | { readonly kind: 'reconnecting', readonly attempt: number, readonly delayMs: number, readonly cause: DisconnectCause }
  | {
    readonly kind: 'stopped'
    readonly reason: StopReason
    readonly error?: Error | undefined
    /** Why retrying stopped (`reason` `fatal` or `exhausted`): the classified last failure. */
    readonly failure?: FailureReason | undefined
  }

/** The events of the state machine: `state` for every change, and one event per kind with that state. */
export interface StateEvents {
  state: { readonly state: ClientState, readonly previous: ClientState }
  connecting: Extract<ClientState, { kind: 'connecting' }>
  registered: Extract<ClientState, { kind: 'registered' }>
  reconnecting: Extract<ClientState, { kind: 'reconnecting' }>
  stopped: Extract<ClientState, { kind: 'stopped' }>
}

const allowed: Record<ClientState['kind'], ReadonlyArray<ClientState['kind']>> = {
  idle: ['connecting', 'stopped'],
  connecting: ['registered', 'reconnecting', 'stopped'],
  registered: ['reconnecting', 'stopped'],
  reconnecting: ['connecting', 'reconnecting', 'stopped'],
  stopped: []
}

/**
 * Holds the client's state. `transition(next)` is the only way to change it: it checks the move, freezes the new
 * state, then emits `state` and the event named after the new kind.
 */
export class StateMachine<E extends StateEvents = StateEvents> {
  #state: ClientState = Object.freeze({ kind: 'idle' })
  readonly #events: TypedEmitter<E>
  readonly #logger: Logger

  constructor (events: TypedEmitter<E>, logger: Logger) {
    this.#events = events
    this.#logger = logger
  }

  get current (): ClientState {
    return this.#state
  }

  /** Moves to `next` and emits; returns false (and changes nothing) for a move the machine does not allow. */
  transition (next: ClientState): boolean {
    const previous = this.#state
    if (!allowed[previous.kind].includes(next.kind)) {
      this.#logger.debug({ from: previous.kind, to: next.kind }, 'state change ignored')
      return false
    }
    const state = Object.freeze({ ...next }) as ClientState
    this.#state = state
    this.#logger.debug({ from: previous.kind, to: state.kind }, 'state changed')
    const events = this.#events as unknown as TypedEmitter<StateEvents>
    events.emit('state', { state, previous })
    events.emit(state.kind as 'connecting', state as never)
    return true
  }
}
