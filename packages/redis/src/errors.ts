import { createError } from '@fastify/error'

/**
 * An option given to a constructor is missing, of the wrong type or out of range. Thrown synchronously, once,
 * when the options are parsed.
 */
export const InvalidOptionError = createError(
  'AIP_ERR_REDIS_INVALID_OPTION',
  'Invalid option %s: expected %s, got %s',
  500,
  TypeError,
  false
)

/** An argument given to a method (a client id, a node id, a TTL) is empty, too long or out of range. */
export const InvalidArgumentError = createError(
  'AIP_ERR_REDIS_INVALID_ARGUMENT',
  'Invalid argument %s: expected %s, got %s',
  500,
  TypeError,
  false
)

const UnavailableBase = createError<'AIP_ERR_REDIS_UNAVAILABLE', 503, [string, string, { cause: unknown }?]>(
  'AIP_ERR_REDIS_UNAVAILABLE',
  'Redis is unavailable for %s (connection %s)',
  503
)

/**
 * Redis could not be reached for an operation: the connection is down or reconnecting, the command timed out,
 * or the connection dropped while the command was in flight. Nothing was done, or (for a command in flight when
 * the connection dropped) the outcome is unknown: retry idempotent work once {@link RedisConnection.health}
 * reports `ready`. `cause` holds the client's error.
 */
export class RedisUnavailableError extends UnavailableBase {
  /** The operation that failed, for example `lease.register`. */
  readonly operation: string
  /** The connection's state when the operation failed. */
  readonly state: string

  /**
   * @param operation - the operation that failed
   * @param state - the connection's state at that moment
   * @param cause - the underlying error, if any
   */
  constructor (operation: string, state: string, cause?: unknown) {
    super(operation, state, cause === undefined ? undefined : { cause })
    this.operation = operation
    this.state = state
  }
}

const CommandBase = createError<'AIP_ERR_REDIS_COMMAND', 500, [string, { cause: unknown }?]>(
  'AIP_ERR_REDIS_COMMAND',
  'Redis refused %s',
  500
)

/**
 * Redis answered an operation with an error (a key of the wrong type, a script error, a denied command): the
 * server is reachable but the data or its permissions are not what this package expects. `cause` holds Redis's
 * answer. Not retried: check that no other program writes under the same key prefix, and the user's ACL.
 */
export class RedisCommandError extends CommandBase {
  /** The operation that failed. */
  readonly operation: string

  /**
   * @param operation - the operation that failed
   * @param cause - Redis's error answer
   */
  constructor (operation: string, cause?: unknown) {
    super(operation, cause === undefined ? undefined : { cause })
    this.operation = operation
  }
}

/** Why a holder lost its lease. `fenced`: another registration took the client id over; `expired`: the lease ran out. */
export type LeaseLossReason = 'fenced' | 'expired'

const FencedBase = createError<'AIP_ERR_REDIS_FENCED', 409, [string, number, string]>(
  'AIP_ERR_REDIS_FENCED',
  'The lease of %s at epoch %d no longer holds (%s): the write was refused',
  409
)

/**
 * A write guarded by a lease was refused because the lease is no longer held by that epoch: another
 * registration took the client id over (`fenced`), or the lease expired (`expired`). Nothing was written.
 */
export class FencedError extends FencedBase {
  /** The client id of the lease. */
  readonly clientId: string
  /** The epoch the writer held. */
  readonly epoch: number
  /** Why the lease no longer holds. */
  readonly reason: LeaseLossReason

  /**
   * @param clientId - the client id of the lease
   * @param epoch - the epoch the writer held
   * @param reason - why the lease no longer holds
   */
  constructor (clientId: string, epoch: number, reason: LeaseLossReason) {
    super(clientId, epoch, reason)
    this.clientId = clientId
    this.epoch = epoch
    this.reason = reason
  }
}

const StreamFullBase = createError<'AIP_ERR_REDIS_STREAM_FULL', 507, [string, number]>(
  'AIP_ERR_REDIS_STREAM_FULL',
  'The delivery stream %s holds %d unacknowledged entries: nothing was appended',
  507
)

/**
 * An append was refused because the stream already holds its bound of unacknowledged entries. Nothing is
 * dropped to make room: the sender decides (refuse the task, retry later). Raise `maxStreamLength` or make sure
 * the stream's reader acknowledges what it handled.
 */
export class StreamFullError extends StreamFullBase {
  /** The stream, as given to `append` (`device:<id>` or `node:<id>`). */
  readonly stream: string
  /** The bound that was reached. */
  readonly maxLength: number

  /**
   * @param stream - the stream that is full
   * @param maxLength - its bound
   */
  constructor (stream: string, maxLength: number) {
    super(stream, maxLength)
    this.stream = stream
    this.maxLength = maxLength
  }
}

/** The object was closed with `close()`; it cannot be used any more. */
export const ClosedError = createError(
  'AIP_ERR_REDIS_CLOSED',
  'The Redis connection is closed',
  500
)

const FormatBase = createError<'AIP_ERR_REDIS_CLUSTER_FORMAT', 503, [string, string, number]>(
  'AIP_ERR_REDIS_CLUSTER_FORMAT',
  'Node %s of this cluster runs cluster format %s and this node runs %d: not joining while it is there (upgrade every node of a cluster together, or give this version its own keyPrefix)',
  503
)

/**
 * A node did not join its cluster because a live node under the same key prefix writes mailboxes, doorbells and
 * leases in another cluster format (`CLUSTER_FORMAT`; a node of a version without one counts as format 0). The node
 * serves its own connections, refuses cross-node work (its link is `down`), and joins on its own once no node of
 * another format is left.
 */
export class ClusterFormatError extends FormatBase {
  /** A live node of the other format. */
  readonly nodeId: string
  /** That node's cluster format (`'0'`: a version without one). */
  readonly format: string
  /** This node's cluster format. */
  readonly ownFormat: number

  /**
   * @param nodeId - a live node of the other format
   * @param format - that node's format
   * @param ownFormat - this node's format
   */
  constructor (nodeId: string, format: string, ownFormat: number) {
    super(nodeId, format, ownFormat)
    this.nodeId = nodeId
    this.format = format
    this.ownFormat = ownFormat
  }
}
