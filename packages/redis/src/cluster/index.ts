export { RedisCluster } from './redis-cluster.js'
export { CLUSTER_FORMAT } from './scripts.js'
export type { RedisClusterOptions, ResolvedRedisClusterOptions } from './options.js'
