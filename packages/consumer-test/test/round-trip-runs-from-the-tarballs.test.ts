import t from 'tap'
import { assertProjectReady, projectDir, run, tsc } from '../lib/project.js'

t.test('a server, a device and a constellation installed from the tarballs run a task to its end', async (t) => {
  assertProjectReady()
  // The type check is the compile tests' job; here the program only has to be emitted.
  const build = tsc('tsconfig.nodenext.json', '--noCheck')
  t.equal(build.status, 0, `the program compiles${build.output === '' ? '' : `:\n${build.output}`}`)

  const program = run(process.execPath, ['out/main.js'], { cwd: projectDir, timeoutMs: 30_000 })
  t.equal(program.status, 0, `the program exits 0${program.status === 0 ? '' : `:\n${program.output}`}`)
  const last = program.stdout.trim().split('\n').at(-1) ?? ''
  const report = JSON.parse(last) as { status: string, result: Array<{ result: Array<{ status: string, result: unknown }> }>, codes: unknown[] }
  t.equal(report.status, 'completed', 'the task completed')
  t.match(report.result.at(-1)?.result.at(-1), { status: 'success', result: { echoed: { word: 'hello' } } }, 'the device ran the tool')
  t.same(report.codes, [
    'AIP_ERR_TIMEOUT',
    'AIP_ERR_PROTOCOL_INVALID_JSON',
    'AIP_ERR_ENDPOINT_TRANSPORT_CLOSED',
    'AIP_ERR_SERVER_SESSION_CANCELLED',
    'AIP_ERR_DEVICE_CONNECTION',
    'AIP_ERR_CONSTELLATION_STOPPED',
    'AIP_ERR_FASTIFY_TASK_NOT_FOUND',
    'AIP_ERR_INVALID_OPTION',
    'AIP_ERR_MCP_CLOSED',
    'AIP_ERR_REDIS_UNAVAILABLE',
    null
  ], 'each package\'s errors are told apart with instanceof at run time')
})
