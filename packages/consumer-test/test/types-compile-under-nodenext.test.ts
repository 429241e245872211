import t from 'tap'
import { assertProjectReady, tsc } from '../lib/project.js'

t.test('a strict program using every package compiles under NodeNext resolution with skipLibCheck off', async (t) => {
  assertProjectReady()
  const result = tsc('tsconfig.nodenext.json', '--noEmit')
  t.equal(result.output.trim(), '', 'tsc reports nothing')
  t.equal(result.status, 0, 'tsc exits 0')
})
