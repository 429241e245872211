import { runCluster } from './cluster.js'

// npm run cluster: Redis (a throwaway redis-server, or REDIS_URL), two nodes, a device on each, an orchestrator on
// node B; prints where each task ran.
const placements = await runCluster((line) => process.stdout.write(`${line}\n`), process.env.REDIS_URL)
const failed = placements.filter((p) => p.status !== 'completed')
process.stdout.write(`\n${placements.length - failed.length} of ${placements.length} tasks completed\n`)
process.exitCode = failed.length === 0 ? 0 : 1
