import { CloseCode } from './transport.js'

/**
 * Why a connection attempt of a client (device or constellation) failed, as far as retrying is concerned.
 *
 * | reason | what happened | verdict |
 * |---|---|---|
 * | `network` | no TCP connection, a reset, a handshake timeout | retry |
 * | `server-error` | the upgrade got HTTP 5xx, 408 or 429 | retry |
 * | `credentials` | HTTP 401 or 403, or a key that is not allowed for this identity | stop |
 * | `rejected-upgrade` | any other HTTP status (404: a wrong path) | stop |
 * | `policy` | the server closed with 4002, or with 1008 before answering the REGISTER | stop |
 * | `registration-timeout` | the REGISTER got no answer in time | retry |
 * | `target-unavailable` | a constellation's target device is not registered (yet) | retry |
 * | `server-busy` | the server runs too many tasks or connections (or closed with 1013) | retry |
 * | `server-closing` | the server is shutting down or restarting (1001, 1012) | retry, free |
 * | `identity-conflict` | the client id is registered by another connection, or another took over (4004) | retry while the old one may be ours, then stop |
 * | `invalid-registration` | the server refused the REGISTER itself as malformed | stop |
 * | `refused` | another refusal text | retry |
 * | `closed` | the server closed the connection without an answer | retry (free on 1000) |
 */
export type FailureReason =
  | 'network'
  | 'server-error'
  | 'credentials'
  | 'rejected-upgrade'
  | 'policy'
  | 'registration-timeout'
  | 'target-unavailable'
  | 'server-busy'
  | 'server-closing'
  | 'identity-conflict'
  | 'invalid-registration'
  | 'refused'
  | 'closed'

/** What is known of one failed attempt. */
export interface FailureFacts {
  /** The HTTP status of a refused upgrade. */
  readonly httpStatus?: number | undefined
  /** The text of the server's ERROR answering the REGISTER. */
  readonly refusal?: string | undefined
  /** The close code the server sent (not one the client chose). */
  readonly closeCode?: number | undefined
  /** The close ended a registered, live connection rather than an attempt to open one. */
  readonly wasRegistered?: boolean | undefined
  /** The REGISTER got no answer within its deadline. */
  readonly registrationTimedOut?: boolean | undefined
  /** The client never registered before (its `start()` or `connectToDevice()`), as opposed to a reconnection. */
  readonly firstConnection: boolean
  /** How long the server has refused this client id as already registered, in ms (0 at the first refusal). */
  readonly identityConflictForMs?: number | undefined
}

/** The decision on a failed attempt. */
export interface FailureVerdict {
  readonly reason: FailureReason
  /** Back off and try again (`true`), or stop retrying (`false`): retrying cannot help. */
  readonly retry: boolean
  /** The server went away on purpose: the attempt does not use the retry budget. */
  readonly free: boolean
}

/**
 * How long a reconnecting client keeps retrying while the server says its id is already registered: the old,
 * dead connection of this very client may still be held by the server until its liveness check drops it (ours
 * replaces a silent one within seconds; the reference waits for its ping timeout, about 40 s). A conflict that
 * persists longer belongs to another live client, and retrying stops.
 */
export const IDENTITY_CONFLICT_GRACE_MS = 90_000

/** HTTP statuses of a refused upgrade that can heal: server errors, 408 and 429. */
function retryableStatus (status: number): boolean {
  return status >= 500 || status === 408 || status === 429
}

/** Refusal texts, ours and the reference's, by what they mean. The wire carries only text. */
const REFUSALS: ReadonlyArray<readonly [RegExp, FailureReason]> = [
  [/is already registered/, 'identity-conflict'],
  [/^Target device '.*' is not connected$/s, 'target-unavailable'],
  [/too many|try again later/i, 'server-busy'],
  [/shutting down|draining/i, 'server-closing'],
  [/not allowed with the key|has its own key|not authorized|credential/i, 'credentials'],
  [/validation error|must be a REGISTER|requires a non-empty client_id|is not a device|is longer than/, 'invalid-registration']
]

function verdict (reason: FailureReason, retry: boolean, free = false): FailureVerdict {
  return { reason, retry, free }
}

/**
 * The one place where a client decides whether a failed connection attempt is worth another one. Bad
 * credentials, a malformed REGISTER, a policy refusal and an identity conflict that persists stop retrying; a
 * network failure, a server error, a target device that has not registered yet, a busy or restarting server are
 * retried with backoff. A first connection that meets an identity conflict stops at once: another live client
 * holds the id.
 */
export function classifyFailure (facts: FailureFacts): FailureVerdict {
  const { httpStatus, refusal, closeCode } = facts
  if (httpStatus !== undefined) {
    if (retryableStatus(httpStatus)) return verdict('server-error', true)
    return verdict(httpStatus === 401 || httpStatus === 403 ? 'credentials' : 'rejected-upgrade', false)
  }
  if (refusal !== undefined) {
    const reason = REFUSALS.find(([pattern]) => pattern.test(refusal))?.[1] ?? 'refused'
    switch (reason) {
      case 'identity-conflict':
        return verdict(reason, !facts.firstConnection && (facts.identityConflictForMs ?? 0) < IDENTITY_CONFLICT_GRACE_MS)
      case 'credentials':
      case 'invalid-registration':
        return verdict(reason, false)
      case 'server-closing':
        return verdict(reason, true, true)
      default:
        return verdict(reason, true)
    }
  }
  if (facts.registrationTimedOut === true) return verdict('registration-timeout', true)
  if (closeCode !== undefined) {
    switch (closeCode) {
      case CloseCode.Replaced:
        // Another connection registered with this id and took over: two clients share one id.
        return verdict('identity-conflict', false)
      case CloseCode.RegistrationRefused:
        return verdict('policy', false)
      case CloseCode.PolicyViolation:
        // Before the REGISTER is answered it refuses the handshake; a live connection gets it for its behaviour
        // (frames too fast, replies not read), which a new connection does not repeat by itself.
        return facts.wasRegistered === true ? verdict('closed', true) : verdict('policy', false)
      case CloseCode.GoingAway:
      case CloseCode.ServiceRestart:
        return verdict('server-closing', true, true)
      case CloseCode.TryAgainLater:
        return verdict('server-busy', true)
      case CloseCode.Normal:
        return verdict('closed', true, true)
      default:
        return verdict('closed', true)
    }
  }
  return verdict('network', true)
}

/** What a client knows of one failed attempt; {@link FailureJudge} adds the rest. */
export type AttemptFacts = Omit<FailureFacts, 'firstConnection' | 'identityConflictForMs'>

/**
 * The retry decision of one client connection (a device client, or one device of a constellation): it keeps what
 * {@link classifyFailure} needs beyond one attempt (whether the connection ever registered, since when the
 * server refuses the id as already registered) and remembers the last verdict. Both clients decide through it,
 * so the decision has one place.
 */
export class FailureJudge {
  readonly #now: () => number
  #registeredOnce = false
  #conflictSince: number | undefined
  #last: FailureVerdict | undefined

  /** @param now - wall clock in ms (default `Date.now`), for the identity-conflict grace */
  constructor (now: () => number = Date.now) {
    this.#now = now
  }

  /** The verdict on the last failed attempt, if any since the last registration. */
  get last (): FailureVerdict | undefined {
    return this.#last
  }

  /** The connection registered: later failures are reconnections, and a run of identity conflicts is over. */
  registered (): void {
    this.#registeredOnce = true
    this.#conflictSince = undefined
    this.#last = undefined
  }

  /** Classifies a failed attempt (see {@link classifyFailure}) and remembers the verdict. */
  judge (facts: AttemptFacts): FailureVerdict {
    const now = this.#now()
    const verdict = classifyFailure({
      ...facts,
      firstConnection: !this.#registeredOnce,
      identityConflictForMs: this.#conflictSince === undefined ? 0 : now - this.#conflictSince
    })
    if (verdict.reason === 'identity-conflict') this.#conflictSince ??= now
    else this.#conflictSince = undefined
    this.#last = verdict
    return verdict
  }
}
