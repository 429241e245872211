// Which source files a test file's coverage counts for. replay.ts is left out: it replays the reference
// conversations against a real server, so device-server and fastify-aip exercise it against every adapter they have;
// redis-server.ts (a real redis-server per test file) is exercised by the tests that need Redis.
const SOURCES = ['src/client.ts', 'src/compare.ts', 'src/helpers.ts', 'src/random.ts', 'src/wire.ts', 'src/index.ts']

export default function coverageMap () {
  return SOURCES
}
