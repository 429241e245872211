import { join } from 'node:path'
import t from 'tap'
import { assertProjectReady, projectDir, run } from '../lib/project.js'

t.test('the installed aip command prints its help', async (t) => {
  assertProjectReady()
  const help = run(join(projectDir, 'node_modules', '.bin', 'aip'), ['--help'], { cwd: projectDir, timeoutMs: 20_000 })
  t.equal(help.status, 0, `aip --help exits 0${help.status === 0 ? '' : `:\n${help.output}`}`)
  for (const command of ['serve', 'device', 'task']) t.match(help.output, command, `the help names ${command}`)
})
