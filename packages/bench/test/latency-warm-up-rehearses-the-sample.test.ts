import { test } from 'tap'

// From dist, built before the tests run (`tsc -b && tap`): the server process starts the built `server-main.js`
// beside the module. Named by variables so that a typecheck before any build does not look for them.
const scenariosModule = '../dist/scenarios.js'
const controlModule = '../dist/server-control.js'
const { latency, single, WARMUP_PARTS } = await import(scenariosModule) as typeof import('../src/scenarios.js')
const { ServerProcess } = await import(controlModule) as typeof import('../src/server-control.js')

// The counted windows rely on this: the server's side of a sample runs during the warm-up, between its parts, so
// that the window's first sample deoptimises nothing (see LatencyOptions.warmupTasks).
test('a latency run\'s warm-up rehearses the server\'s side of a sample after each of its parts, before the window', async (t) => {
  const server = await ServerProcess.start('real')
  t.teardown(() => server.stop())
  const deployment = single(server)
  const events: string[] = []
  const traced = {
    ...deployment,
    rehearse: async () => { events.push('rehearse'); await deployment.rehearse?.() },
    sample: async () => { events.push('sample'); return await deployment.sample() }
  }
  const figures = await latency(traced, { devices: 2, rate: 100, durationMs: 50, warmupTasks: 2 * WARMUP_PARTS, alone: true })
  t.equal(figures.failed, 0)
  t.same(events, [...Array.from({ length: WARMUP_PARTS }, () => 'rehearse'), 'sample', 'sample'], 'every part rehearsed, then the window\'s two samples')
})

test('a latency run without warm-up tasks rehearses nothing', async (t) => {
  const server = await ServerProcess.start('real')
  t.teardown(() => server.stop())
  const deployment = single(server)
  let rehearsals = 0
  const figures = await latency({ ...deployment, rehearse: async () => { rehearsals++ } }, { devices: 1, rate: 100, durationMs: 30, alone: true })
  t.equal(figures.failed, 0)
  t.equal(rehearsals, 0)
})
