export {
  corpus, transcript, line, wireText, frameObject, key, wireDir, REFERENCE_PARSE_REJECTIONS, type WireLine
} from './wire.js'
export { sameAsReference, stripVolatile, REFERENCE_SERVER_FIELDS, REFERENCE_CLIENT_FIELDS } from './compare.js'
export {
  TestClient, deviceRegister, constellationRegister, registered, registeredDevice, registeredConstellation, echoDevice, until,
  type Teardown, type Closed, type EchoDeviceOptions
} from './client.js'
export { prng, type Random } from './random.js'
export { waitFor, nextEvent, serverFrame, referenceTimestamp, SERVER_MESSAGE_FIELDS, type EventSource } from './helpers.js'
export {
  replayErrorMatrix, replayTaskRoundTrip, twoStepAgent, ROUND_TRIP_TRANSCRIPTS, type ReplayServer, type RoundTripOptions
} from './replay.js'
export { startRedisServer, redisServerOrSkip, ensureRedisServer, REDIS_PACKAGE, type RedisServer, type EnsureOptions } from './redis-server.js'
