// The real redis-server of the tests (a free 127.0.0.1 port, a temp dir, nothing persisted, installed with apt-get
// as root when missing, otherwise the file is skipped loudly): shared by every package through @aip/test-support.
export { REDIS_PACKAGE, ensureRedisServer, redisServerOrSkip, startRedisServer, type EnsureOptions, type RedisServer } from '@aip/test-support'
