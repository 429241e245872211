export { CLUSTER_FORMAT, RedisCluster } from './cluster/index.js'
export type { RedisClusterOptions, ResolvedRedisClusterOptions } from './cluster/index.js'
export { RedisConnection } from './connection.js'
export type {
  RedisConnectionOptions,
  RedisConnectionState,
  RedisHealth,
  RedisLastError,
  ResolvedRedisConnectionOptions,
  WaitReadyOptions
} from './connection.js'
export {
  ClosedError,
  ClusterFormatError,
  FencedError,
  InvalidArgumentError,
  InvalidOptionError,
  RedisCommandError,
  RedisUnavailableError,
  StreamFullError
} from './errors.js'
export type { LeaseLossReason } from './errors.js'
export { Keys, MAX_ID_LENGTH } from './keys.js'
export type { StreamKind } from './keys.js'
export { LeaseKeeper } from './lease-keeper.js'
export type { LeaseKeeperOptions } from './lease-keeper.js'
export { RedisLeaseRegistry } from './leases.js'
export type { RedisLeaseRegistryOptions } from './leases.js'
export { silentLogger } from './logger.js'
export type { LogFn, Logger } from './logger.js'
export { RedisRecordStore, RedisResultStore } from './records.js'
export type { RedisRecordStoreOptions, RedisResultStoreOptions } from './records.js'
export { RedisDeliveryLog } from './streams.js'
export type { RedisDeliveryLogOptions } from './streams.js'
export { RedisStreamReader } from './stream-reader.js'
export type { EntryHandler, FollowOptions, RedisStreamReaderOptions } from './stream-reader.js'
export type {
  AppendOptions,
  ClusterHealth,
  ClusterResultStore,
  DeliveryEntry,
  DeliveryLog,
  HolderAppendOptions,
  HolderAppendOutcome,
  Lease,
  LeaseCheck,
  LeaseFence,
  LeaseRecord,
  LeaseRegistry,
  PutOptions,
  RecordStore,
  RegisterMode,
  RegisterOptions,
  RegisterOutcome,
  ResultKeys,
  StreamAddress
} from './types.js'
