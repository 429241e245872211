import { InvalidOptionError } from '../errors.js'
import { checkId, describe, optionCount, optionMs } from '../keys.js'
import type { RedisConnection, RedisConnectionOptions } from '../connection.js'
import type { Logger } from '../logger.js'

/** Options of {@link RedisCluster}. */
export interface RedisClusterOptions {
  /**
   * This node's id, unique in the cluster (at most 512 characters). Default: a random one per process, which is
   * fine unless something outside the cluster must name the node.
   */
  nodeId?: string
  /**
   * An open connection to share (for example with the application's other Redis use). When given, `url`,
   * `keyPrefix` and the connection options are not used, and `stop()` leaves it open. Default: a connection of the
   * cluster's own, closed by `stop()`.
   */
  connection?: RedisConnection
  /** Where Redis is (see `RedisConnection`): credentials and TLS through the URL. Default `redis://127.0.0.1:6379`. */
  url?: string
  /** Prefix of every key and channel, so that several clusters share one Redis. Default `aip:`. */
  keyPrefix?: string
  /** More options of the cluster's own connection (timeouts, backoff). */
  redis?: Omit<RedisConnectionOptions, 'url' | 'keyPrefix' | 'logger'>
  /**
   * The node lease, in milliseconds: a node that stops renewing it (dead, frozen, cut from Redis) is lost within
   * it, and the other nodes end the tasks whose agent ran there. Renewed every third of it. Default 10000.
   */
  nodeLeaseMs?: number
  /**
   * The client leases, in milliseconds: renewed by the node holding the client, in one sweep per node every third of
   * the node lease. Default: the node lease.
   */
  clientLeaseMs?: number
  /** Longest wait between two reads of the node's mailboxes when no doorbell rings. Default 1000. */
  pollIntervalMs?: number
  /**
   * Longest wait before a handled mailbox entry is acknowledged (removed from its mailbox), in milliseconds: the
   * entries handled meanwhile share one acknowledgement per mailbox. An entry handled but not acknowledged when the
   * node dies is handed over again to the client's next node. Default 200.
   */
  ackDelayMs?: number
  /** How long finished tasks' records are kept in Redis. Default 1 hour. */
  resultTtlMs?: number
  /** Most entries waiting in one mailbox; one more is refused. Default 10000. */
  maxMailboxLength?: number
  /**
   * A mailbox is deleted with its entries this long after its last acknowledgement, or after an append found it
   * empty, whichever came last. Default 1 hour.
   */
  mailboxTtlMs?: number
  /**
   * Most bytes of mailbox entries a doorbell carries to the node it wakes (which then reads no stream); larger
   * batches only name their mailboxes, which the node reads. 0 always names them. Default 65536.
   */
  maxDoorbellBytes?: number
  /** A pino-style logger. Default: silent. */
  logger?: Logger
}

/** The options of {@link RedisCluster}, checked, with their defaults. */
export interface ResolvedRedisClusterOptions {
  readonly nodeLeaseMs: number
  readonly clientLeaseMs: number
  readonly pollIntervalMs: number
  readonly ackDelayMs: number
  readonly resultTtlMs: number
  readonly maxMailboxLength: number
  readonly mailboxTtlMs: number
  readonly maxDoorbellBytes: number
}

/** Checks the options of {@link RedisCluster}. */
export function resolveClusterOptions (options: RedisClusterOptions): ResolvedRedisClusterOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'an object', describe(options))
  if (options.nodeId !== undefined) {
    try {
      checkId('nodeId', options.nodeId)
    } catch {
      throw new InvalidOptionError('nodeId', 'a string of 1 to 512 characters', describe(options.nodeId))
    }
  }
  const nodeLeaseMs = optionMs('nodeLeaseMs', options.nodeLeaseMs, 10_000, 30)
  const clientLeaseMs = optionMs('clientLeaseMs', options.clientLeaseMs, nodeLeaseMs, 30)
  if (clientLeaseMs < nodeLeaseMs) {
    throw new InvalidOptionError('clientLeaseMs', `at least nodeLeaseMs (${nodeLeaseMs}): client leases are renewed with the node lease`, describe(clientLeaseMs))
  }
  return Object.freeze({
    nodeLeaseMs,
    clientLeaseMs,
    pollIntervalMs: optionMs('pollIntervalMs', options.pollIntervalMs, 1000),
    ackDelayMs: optionMs('ackDelayMs', options.ackDelayMs, 200),
    resultTtlMs: optionMs('resultTtlMs', options.resultTtlMs, 3_600_000),
    maxMailboxLength: optionCount('maxMailboxLength', options.maxMailboxLength, 10_000),
    mailboxTtlMs: optionMs('mailboxTtlMs', options.mailboxTtlMs, 3_600_000),
    maxDoorbellBytes: optionCount('maxDoorbellBytes', options.maxDoorbellBytes, 65_536, 0)
  })
}
