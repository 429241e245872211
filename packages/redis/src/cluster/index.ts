export { RedisCluster } from './redis-cluster.js'
export type { RedisClusterOptions, ResolvedRedisClusterOptions } from './options.js'
